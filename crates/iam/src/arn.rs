//! ARNs: `arn:{partition}:{service}:{region}:{account}:{resource}`, and the Lambda function
//! references AWS accepts in `FunctionName` (name, `name:qualifier`, partial ARN, full ARN).

/// A parsed ARN. `resource` keeps its `:` and `/` separators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn {
    pub partition: String,
    pub service: String,
    pub region: String,
    pub account: String,
    pub resource: String,
}

impl Arn {
    /// Parses `arn:partition:service:region:account:resource`; `None` when it is not an ARN.
    pub fn parse(text: &str) -> Option<Arn> {
        let mut parts = text.splitn(6, ':');
        if parts.next()? != "arn" {
            return None;
        }
        let partition = parts.next()?;
        let service = parts.next()?;
        let region = parts.next()?;
        let account = parts.next()?;
        let resource = parts.next()?;
        if partition.is_empty() || service.is_empty() || resource.is_empty() {
            return None;
        }
        Some(Arn {
            partition: partition.to_owned(),
            service: service.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            resource: resource.to_owned(),
        })
    }
}

impl std::fmt::Display for Arn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

/// A Lambda function as the gateway invokes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRef {
    /// The function's name.
    pub name: String,
    /// Alias or version the integration names, if any.
    pub qualifier: Option<String>,
    /// The unqualified ARN.
    pub arn: String,
}

impl FunctionRef {
    /// A function of the template, unqualified.
    pub fn of(function: &stackgate_template::Function) -> Self {
        FunctionRef {
            name: function.name.clone(),
            qualifier: None,
            arn: function.arn.clone(),
        }
    }

    /// The ARN the invocation is for: the unqualified ARN, or `arn:…:function:name:qualifier`.
    pub fn invoked_arn(&self) -> String {
        match &self.qualifier {
            Some(q) => format!("{}:{q}", self.arn),
            None => self.arn.clone(),
        }
    }

    /// Region and account of the function, from its ARN.
    pub fn region_account(&self) -> (String, String) {
        Arn::parse(&self.arn)
            .map(|a| (a.region, a.account))
            .unwrap_or_default()
    }
}

/// What a `FunctionName` property names: a function, maybe qualified, maybe pinned to an account
/// and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionName {
    pub name: String,
    pub qualifier: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
}

impl FunctionName {
    /// Whether the `FunctionName` text `text` names template function `function`.
    pub fn text_names(text: &str, function: &stackgate_template::Function) -> bool {
        FunctionName::parse(text).is_some_and(|n| n.names(&FunctionRef::of(function)))
    }

    /// Parses the forms `AWS::Lambda::Permission` accepts: `my-function`, `my-function:v1`,
    /// `123456789012:function:my-function[:v1]`, and
    /// `arn:aws:lambda:us-west-2:123456789012:function:my-function[:v1]`.
    pub fn parse(text: &str) -> Option<FunctionName> {
        let parts: Vec<&str> = text.split(':').collect();
        let (name, qualifier, account, region) = match parts.as_slice() {
            [name] => (*name, None, None, None),
            [name, q] => (*name, Some(*q), None, None),
            [account, "function", name] => (*name, None, Some(*account), None),
            [account, "function", name, q] => (*name, Some(*q), Some(*account), None),
            ["arn", _, "lambda", region, account, "function", name] => {
                (*name, None, Some(*account), Some(*region))
            }
            ["arn", _, "lambda", region, account, "function", name, q] => {
                (*name, Some(*q), Some(*account), Some(*region))
            }
            _ => return None,
        };
        if name.is_empty() || qualifier.is_some_and(str::is_empty) {
            return None;
        }
        Some(FunctionName {
            name: name.to_owned(),
            qualifier: qualifier.map(str::to_owned),
            account: account.map(str::to_owned),
            region: region.map(str::to_owned),
        })
    }

    /// Whether this names `function` as invoked. A permission on `name:alias` covers invocations
    /// of that alias only; an unqualified one covers unqualified invocations only (each version
    /// and alias has its own resource policy in Lambda).
    pub fn names(&self, function: &FunctionRef) -> bool {
        let (region, account) = function.region_account();
        self.name == function.name
            && self.qualifier == function.qualifier
            && self.account.as_ref().is_none_or(|a| *a == account)
            && self.region.as_ref().is_none_or(|r| *r == region)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn f(name: &str, qualifier: Option<&str>) -> FunctionRef {
        FunctionRef {
            name: name.into(),
            qualifier: qualifier.map(Into::into),
            arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{name}"),
        }
    }

    #[test]
    fn arns_parse() {
        let arn = Arn::parse("arn:aws:execute-api:us-east-1:123:abc/$default/GET/a:b").unwrap();
        assert_eq!(arn.service, "execute-api");
        assert_eq!(arn.resource, "abc/$default/GET/a:b");
        assert_eq!(
            arn.to_string(),
            "arn:aws:execute-api:us-east-1:123:abc/$default/GET/a:b"
        );
        assert_eq!(Arn::parse("arn:aws:iam::aws:policy/x").unwrap().region, "");
        for bad in [
            "",
            "arn",
            "arn:aws",
            "nope:aws:s3:::b",
            "arn::s3:::b",
            "arn:aws:s3:::",
        ] {
            assert!(Arn::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn function_name_forms() {
        let cases: &[(&str, Option<&str>, bool)] = &[
            ("echo", None, true),
            ("echo", Some("live"), false),
            ("echo:live", Some("live"), true),
            ("echo:live", None, false),
            ("123456789012:function:echo", None, true),
            ("999999999999:function:echo", None, false),
            (
                "arn:aws:lambda:us-east-1:123456789012:function:echo",
                None,
                true,
            ),
            (
                "arn:aws:lambda:eu-west-1:123456789012:function:echo",
                None,
                false,
            ),
            (
                "arn:aws:lambda:us-east-1:123456789012:function:echo:3",
                Some("3"),
                true,
            ),
            ("other", None, false),
        ];
        for (text, qualifier, expected) in cases {
            let parsed = FunctionName::parse(text).unwrap();
            assert_eq!(
                parsed.names(&f("echo", *qualifier)),
                *expected,
                "{text} {qualifier:?}"
            );
        }
        for bad in ["", "a:b:c", "echo:", "arn:aws:s3:::bucket", "a:b:c:d:e"] {
            assert!(FunctionName::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn invoked_arn_has_the_qualifier() {
        assert_eq!(
            f("echo", Some("live")).invoked_arn(),
            "arn:aws:lambda:us-east-1:123456789012:function:echo:live"
        );
        assert_eq!(
            f("echo", None).invoked_arn(),
            "arn:aws:lambda:us-east-1:123456789012:function:echo"
        );
    }
}
