//! `AWS::IAM::Policy` and `AWS::IAM::ManagedPolicy`: modelled (not "not emulated"), attached to
//! roles by `Roles` or by `ManagedPolicyArns: [!Ref Policy]`.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use stackgate_template::{LoadOptions, load_str};

#[test]
fn policies_and_managed_policies_are_modelled() {
    let text = r#"
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: invoker
      AssumeRolePolicyDocument:
        Statement: {Effect: Allow, Principal: {Service: apigateway.amazonaws.com}, Action: sts:AssumeRole}
      ManagedPolicyArns:
        - !Ref Managed
  Managed:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      ManagedPolicyName: invoke-all
      PolicyDocument:
        Statement: {Effect: Allow, Action: lambda:InvokeFunction, Resource: "*"}
  Inline:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: deny
      Roles: [!Ref Role]
      PolicyDocument:
        Statement: {Effect: Deny, Action: "lambda:*", Resource: "*"}
"#;
    let loaded = load_str(text, Path::new("t.yaml"), &LoadOptions::default());
    let model = loaded.model.unwrap();
    assert!(model.not_emulated.is_empty(), "{:?}", model.not_emulated);
    assert_eq!(model.policies.len(), 2);
    let managed = model
        .policies
        .iter()
        .find(|p| p.logical_id == "Managed")
        .unwrap();
    assert_eq!(
        managed.arn.as_deref(),
        Some("arn:aws:iam::123456789012:policy/invoke-all")
    );
    assert_eq!(
        model.roles[0].managed_policy_arns,
        vec![managed.arn.clone().unwrap()]
    );
    let inline = model
        .policies
        .iter()
        .find(|p| p.logical_id == "Inline")
        .unwrap();
    assert_eq!(inline.arn, None);
    assert_eq!(inline.roles, vec!["invoker".to_owned()]);
    assert_eq!(inline.document["Statement"]["Effect"], "Deny");
}
