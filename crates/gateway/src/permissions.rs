//! May API Gateway invoke the route's function? (reference §5). Compiled once per route in
//! `Gateway::compile` from the template's roles, policies and `AWS::Lambda::Permission`s
//! (`stackgate_iam::invoke::plan`), then checked per request: the source ARN a permission's
//! `SourceArn` is matched against depends on the stage and, for routes with path variables or
//! `ANY`, on the request; the other routes' answers are computed per stage once.
//!
//! Denied → 500 `{"message":"Internal Server Error"}` as AWS answers, and the log line names the
//! route, the function, what is missing and the YAML to add.

use std::collections::HashMap;
use std::sync::Arc;

use stackgate_iam::invoke::{Plan, RouteInput, plan};
use stackgate_template::{FunctionTarget, Integration, Model, Route};

use crate::error::GatewayError;

/// The compiled invoke-permission check of one route.
#[derive(Debug, Clone)]
pub(crate) enum Access {
    /// Allowed for every request (role path allowed, or not checkable).
    Allowed,
    /// Denied for every request: the log text.
    Denied(Arc<str>),
    /// Resource-based permissions: per stage answers when the ARN does not depend on the
    /// request, else evaluated per request.
    Permissions {
        plan: Box<stackgate_iam::invoke::PermissionPlan>,
        per_stage: HashMap<String, Option<Arc<str>>>,
    },
}

/// Compiles the check for a route whose integration invokes `target`, logging at start-up what
/// cannot be checked and what will be denied.
pub(crate) fn compile(
    model: &Model,
    route: &Route,
    integration: &Integration,
    target: &FunctionTarget,
    stages: &[String],
) -> Access {
    let planned = plan(&RouteInput {
        model,
        route,
        integration,
        target,
    });
    match planned {
        Plan::Trusted { warning } => {
            tracing::warn!(target: "stackgate::gateway", "{warning}");
            Access::Allowed
        }
        Plan::Fixed(Ok(())) => Access::Allowed,
        Plan::Fixed(Err(denial)) => {
            let text = denial.to_string();
            tracing::warn!(target: "stackgate::gateway", "{text}\n(requests to this route answer 500, as in AWS)");
            Access::Denied(Arc::from(text))
        }
        Plan::Permissions(plan) => {
            let static_arn = plan
                .route
                .as_ref()
                .is_none_or(|(method, path)| method != "ANY" && !path.contains('{'));
            let mut per_stage = HashMap::new();
            let mut denied_everywhere = None;
            let mut allowed_somewhere = false;
            for stage in stages {
                let answer: Option<Arc<str>> = plan
                    .check(stage, None)
                    .err()
                    .map(|d| Arc::from(d.to_string()));
                match &answer {
                    None => allowed_somewhere = true,
                    Some(text) => denied_everywhere = Some(text.clone()),
                }
                if static_arn {
                    per_stage.insert(stage.clone(), answer);
                }
            }
            if !allowed_somewhere && let Some(text) = denied_everywhere {
                tracing::warn!(target: "stackgate::gateway", "{text}\n(requests to this route answer 500, as in AWS, unless the concrete path matches)");
            }
            Access::Permissions { plan, per_stage }
        }
    }
}

/// Checks one request: `stage` served it, `method` and `path` (after the stage) are the request's.
pub(crate) fn check(
    access: &Access,
    stage: &str,
    method: &str,
    path: &str,
) -> Result<(), GatewayError> {
    let denied = |text: &str| GatewayError::Internal {
        reason: text.to_owned(),
    };
    match access {
        Access::Allowed => Ok(()),
        Access::Denied(text) => Err(denied(text)),
        Access::Permissions { plan, per_stage } => match per_stage.get(stage) {
            Some(None) => Ok(()),
            Some(Some(text)) => Err(denied(text)),
            None => plan
                .check(stage, Some((method, path)))
                .map_err(|d| denied(&d.to_string())),
        },
    }
}
