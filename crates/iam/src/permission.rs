//! Lambda resource-based permissions (`AWS::Lambda::Permission`) as Lambda evaluates them when
//! API Gateway invokes a function: the function (and qualifier) named, the principal, the
//! action, `SourceArn` compared with `StringLike`, `SourceAccount` compared exactly.

use crate::arn::{FunctionName, FunctionRef};
use crate::pattern::{action_matches, string_like};
use stackgate_template::Permission;

pub const APIGATEWAY: &str = "apigateway.amazonaws.com";

/// Why one permission does not let API Gateway invoke the function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// It is for another function (or another alias/version).
    OtherFunction,
    /// `FunctionName` is not a function name, ARN or partial ARN.
    BadFunctionName,
    Principal(String),
    Action(String),
    /// `SourceArn` matches none of the ARNs API Gateway presents.
    SourceArn(String),
    SourceAccount(String),
}

impl Mismatch {
    pub fn describe(&self, presented: &[String], account: &str) -> String {
        match self {
            Mismatch::OtherFunction => {
                "it is for another function (or another alias/version)".to_owned()
            }
            Mismatch::BadFunctionName => {
                "its FunctionName is not a function name, ARN or partial ARN".to_owned()
            }
            Mismatch::Principal(p) => format!("its Principal is {p}, not {APIGATEWAY}"),
            Mismatch::Action(a) => format!("its Action is {a}, not lambda:InvokeFunction"),
            Mismatch::SourceArn(s) => format!(
                "its SourceArn {s} does not match {} (compared with StringLike: * matches any characters, including /)",
                presented.first().map_or("the API's ARN", String::as_str)
            ),
            Mismatch::SourceAccount(a) => {
                format!("its SourceAccount {a} is not the account {account}")
            }
        }
    }
}

/// The result of checking a function's resource policy for one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionOutcome {
    /// The permission that allows the invocation.
    pub allowed_by: Option<String>,
    /// Permissions for this function that do not allow it, with why.
    pub rejected: Vec<(String, Mismatch)>,
}

/// Does any of `permissions` let API Gateway invoke `function`, presenting any of `source_arns`
/// (the concrete-path ARN and the route-template ARN), from `account`?
pub fn evaluate_permissions(
    permissions: &[Permission],
    function: &FunctionRef,
    source_arns: &[String],
    account: &str,
) -> PermissionOutcome {
    let mut rejected = Vec::new();
    for p in permissions {
        match check_one(p, function, source_arns, account) {
            Ok(()) => {
                return PermissionOutcome {
                    allowed_by: Some(p.logical_id.clone()),
                    rejected,
                };
            }
            Err(Mismatch::OtherFunction | Mismatch::BadFunctionName) => {}
            Err(m) => rejected.push((p.logical_id.clone(), m)),
        }
    }
    PermissionOutcome {
        allowed_by: None,
        rejected,
    }
}

/// Whether a permission is for `function` at all.
pub fn is_for_function(p: &Permission, function: &FunctionRef) -> bool {
    FunctionName::parse(&p.function_name).is_some_and(|n| n.names(function))
}

/// One permission against one invocation.
pub fn check_one(
    p: &Permission,
    function: &FunctionRef,
    source_arns: &[String],
    account: &str,
) -> Result<(), Mismatch> {
    let Some(name) = FunctionName::parse(&p.function_name) else {
        return Err(Mismatch::BadFunctionName);
    };
    if !name.names(function) {
        return Err(Mismatch::OtherFunction);
    }
    if p.principal != APIGATEWAY && p.principal != "*" {
        return Err(Mismatch::Principal(p.principal.clone()));
    }
    if !action_matches(&p.action, "lambda:InvokeFunction") {
        return Err(Mismatch::Action(p.action.clone()));
    }
    if let Some(pattern) = &p.source_arn
        && !source_arns.iter().any(|arn| string_like(pattern, arn))
    {
        return Err(Mismatch::SourceArn(pattern.clone()));
    }
    if let Some(a) = &p.source_account
        && a != account
    {
        return Err(Mismatch::SourceAccount(a.clone()));
    }
    Ok(())
}

/// The ARN API Gateway presents for a route: `arn:{partition}:execute-api:{region}:{account}:
/// {apiId}/{stage}/{METHOD}/{path without its leading slash}`, or `…/{stage}/$default` for the
/// `$default` route.
pub fn execute_api_arn(
    partition: &str,
    region: &str,
    account: &str,
    api_id: &str,
    stage: &str,
    method_and_path: Option<(&str, &str)>,
) -> String {
    let tail = match method_and_path {
        Some((method, path)) => format!("{method}/{}", path.strip_prefix('/').unwrap_or(path)),
        None => "$default".to_owned(),
    };
    format!("arn:{partition}:execute-api:{region}:{account}:{api_id}/{stage}/{tail}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const API: &str = "arn:aws:execute-api:us-east-1:123456789012:abc123";

    fn f() -> FunctionRef {
        FunctionRef {
            name: "echo".into(),
            qualifier: None,
            arn: "arn:aws:lambda:us-east-1:123456789012:function:echo".into(),
        }
    }

    fn perm(function_name: &str, source_arn: Option<&str>) -> Permission {
        Permission {
            location: Default::default(),
            logical_id: "P".into(),
            action: "lambda:InvokeFunction".into(),
            function_name: function_name.into(),
            principal: APIGATEWAY.into(),
            source_arn: source_arn.map(Into::into),
            source_account: None,
        }
    }

    #[test]
    fn execute_api_arns() {
        assert_eq!(
            execute_api_arn(
                "aws",
                "us-east-1",
                "1",
                "abc",
                "$default",
                Some(("GET", "/pets/1"))
            ),
            "arn:aws:execute-api:us-east-1:1:abc/$default/GET/pets/1"
        );
        assert_eq!(
            execute_api_arn("aws", "us-east-1", "1", "abc", "$default", None),
            "arn:aws:execute-api:us-east-1:1:abc/$default/$default"
        );
        assert_eq!(
            execute_api_arn("aws", "us-east-1", "1", "abc", "prod", Some(("ANY", "/"))),
            "arn:aws:execute-api:us-east-1:1:abc/prod/ANY/"
        );
    }

    #[test]
    fn permission_table() {
        let concrete = vec![
            format!("{API}/$default/GET/pets/42"),
            format!("{API}/$default/GET/pets/{{id}}"),
        ];
        let default_route = vec![format!("{API}/$default/$default")];
        let cases: Vec<(Permission, &Vec<String>, Result<(), &str>)> = vec![
            (perm("echo", Some(&format!("{API}/*"))), &concrete, Ok(())),
            (perm("echo", Some(&format!("{API}/*/*"))), &concrete, Ok(())),
            (
                perm("echo", Some(&format!("{API}/*/GET/pets/*"))),
                &concrete,
                Ok(()),
            ),
            (
                perm("echo", Some(&format!("{API}/*/GET/pets/{{id}}"))),
                &concrete,
                Ok(()),
            ),
            (
                perm("echo", Some(&format!("{API}/*/GET/pets/42"))),
                &concrete,
                Ok(()),
            ),
            (
                perm("echo", Some(&format!("{API}/*/POST/pets/*"))),
                &concrete,
                Err("SourceArn"),
            ),
            (
                perm("echo", Some(&format!("{API}/*/*/$default"))),
                &default_route,
                Err("SourceArn"),
            ),
            (
                perm("echo", Some(&format!("{API}/*/$default"))),
                &default_route,
                Ok(()),
            ),
            (
                perm(
                    "echo",
                    Some("arn:aws:execute-api:us-east-1:123456789012:other/*"),
                ),
                &concrete,
                Err("SourceArn"),
            ),
            (perm("echo", None), &concrete, Ok(())),
            (
                perm(
                    "arn:aws:lambda:us-east-1:123456789012:function:echo",
                    Some(&format!("{API}/*")),
                ),
                &concrete,
                Ok(()),
            ),
            (perm("123456789012:function:echo", None), &concrete, Ok(())),
            (perm("other", None), &concrete, Err("OtherFunction")),
            (perm("echo:live", None), &concrete, Err("OtherFunction")),
            (
                perm("not:a:name:at:all", None),
                &concrete,
                Err("BadFunctionName"),
            ),
            (
                Permission {
                    principal: "lambda.amazonaws.com".into(),
                    ..perm("echo", None)
                },
                &concrete,
                Err("Principal"),
            ),
            (
                Permission {
                    principal: "*".into(),
                    ..perm("echo", None)
                },
                &concrete,
                Ok(()),
            ),
            (
                Permission {
                    action: "lambda:*".into(),
                    ..perm("echo", None)
                },
                &concrete,
                Ok(()),
            ),
            (
                Permission {
                    action: "LAMBDA:invokefunction".into(),
                    ..perm("echo", None)
                },
                &concrete,
                Ok(()),
            ),
            (
                Permission {
                    action: "lambda:InvokeFunctionUrl".into(),
                    ..perm("echo", None)
                },
                &concrete,
                Err("Action"),
            ),
            (
                Permission {
                    source_account: Some("123456789012".into()),
                    ..perm("echo", None)
                },
                &concrete,
                Ok(()),
            ),
            (
                Permission {
                    source_account: Some("999999999999".into()),
                    ..perm("echo", None)
                },
                &concrete,
                Err("SourceAccount"),
            ),
        ];
        for (i, (p, arns, expected)) in cases.into_iter().enumerate() {
            let got = check_one(&p, &f(), arns, "123456789012");
            let got_kind = got.map_err(|m| {
                let d = format!("{m:?}");
                d.split('(').next().unwrap_or_default().to_owned()
            });
            assert_eq!(got_kind, expected.map_err(str::to_owned), "case {i}: {p:?}");
        }
    }

    #[test]
    fn outcome_names_the_allowing_permission_and_the_near_misses() {
        let arns = vec![format!("{API}/$default/GET/pets")];
        let wrong = Permission {
            location: Default::default(),
            logical_id: "Wrong".into(),
            ..perm("echo", Some(&format!("{API}/*/POST/*")))
        };
        let other = Permission {
            location: Default::default(),
            logical_id: "Other".into(),
            ..perm("other", None)
        };
        let out =
            evaluate_permissions(&[wrong.clone(), other.clone()], &f(), &arns, "123456789012");
        assert_eq!(out.allowed_by, None);
        assert_eq!(out.rejected.len(), 1);
        assert_eq!(out.rejected[0].0, "Wrong");
        assert!(out.rejected[0].1.describe(&arns, "1").contains("POST"));
        let right = Permission {
            location: Default::default(),
            logical_id: "Right".into(),
            ..perm("echo", Some(&format!("{API}/*")))
        };
        let out = evaluate_permissions(&[wrong, other, right], &f(), &arns, "123456789012");
        assert_eq!(out.allowed_by.as_deref(), Some("Right"));
    }
}
