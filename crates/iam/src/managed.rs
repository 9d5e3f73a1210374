//! The AWS-managed policies that matter for invoking a function, with their documents (as
//! published by AWS, reduced to the statements relevant here).

use serde_json::{Value, json};

/// The document of an AWS-managed policy stackgate knows, by ARN
/// (`arn:{partition}:iam::aws:policy/{path}{name}`). `None`: not an AWS-managed policy stackgate
/// knows (the caller says it is assumed not to grant `lambda:InvokeFunction`).
pub fn aws_managed_policy(arn: &str) -> Option<Value> {
    let (_, name) = arn.split_once(":iam::aws:policy/")?;
    Some(match name {
        "service-role/AWSLambdaRole" => json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": ["*"]}
        ]}),
        "AWSLambda_FullAccess" | "AWSLambdaFullAccess" => {
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["lambda:*"], "Resource": "*"}
            ]})
        }
        "AdministratorAccess" => json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"}
        ]}),
        "PowerUserAccess" => json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"}
        ]}),
        "service-role/AWSLambdaBasicExecutionRole" => {
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}
            ]})
        }
        "service-role/AmazonAPIGatewayPushToCloudWatchLogs" => {
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogGroups", "logs:DescribeLogStreams", "logs:PutLogEvents", "logs:GetLogEvents", "logs:FilterLogEvents"], "Resource": "*"}
            ]})
        }
        "AWSLambda_ReadOnlyAccess" => json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["lambda:Get*", "lambda:List*"], "Resource": "*"}
        ]}),
        _ => return None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::policy::{Document, evaluate};

    #[test]
    fn which_managed_policies_grant_invoke() {
        let f = "arn:aws:lambda:us-east-1:123456789012:function:echo";
        for (name, grants) in [
            ("service-role/AWSLambdaRole", true),
            ("AWSLambda_FullAccess", true),
            ("AdministratorAccess", true),
            ("PowerUserAccess", true),
            ("service-role/AWSLambdaBasicExecutionRole", false),
            ("AWSLambda_ReadOnlyAccess", false),
        ] {
            let arn = format!("arn:aws:iam::aws:policy/{name}");
            let doc = Document::parse(name, &aws_managed_policy(&arn).unwrap()).unwrap();
            assert_eq!(
                evaluate(&[doc], "lambda:InvokeFunction", f).is_allowed(),
                grants,
                "{name}"
            );
        }
        assert!(aws_managed_policy("arn:aws:iam::aws:policy/SomethingElse").is_none());
        assert!(
            aws_managed_policy("arn:aws:iam::123456789012:policy/AdministratorAccess").is_none()
        );
    }
}
