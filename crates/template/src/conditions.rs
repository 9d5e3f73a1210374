//! The `Conditions` section: each condition evaluated once, on demand (a condition may name
//! another), with cycles reported.

use crate::intrinsics::{Ctx, Eval, Reported, Value};
use crate::node::Node;

impl<'a> Ctx<'a> {
    /// Registers the `Conditions` section (evaluated lazily by [`Ctx::condition`]).
    pub fn load_conditions(&mut self, section: &'a Node) {
        let Some(entries) = section.as_map() else {
            self.error_at(
                section,
                "Conditions",
                "Conditions must be a map of names to conditions",
            );
            return;
        };
        for (key, value) in entries {
            match key.as_str() {
                Some(name) => {
                    self.conditions.insert(name.to_string(), value);
                }
                None => {
                    self.error_at(key, "Conditions", "condition names must be strings");
                }
            }
        }
    }

    /// Evaluates every condition, so that errors in unused ones are reported too.
    pub fn check_all_conditions(&mut self) {
        let names: Vec<String> = self.conditions.keys().cloned().collect();
        for name in names {
            if let Some(node) = self.conditions.get(&name).copied() {
                let _ = self.condition(&name, node, &format!("Conditions.{name}"));
            }
        }
    }

    /// The value of the condition `name`; `at` is where it is named (for errors).
    pub fn condition(&mut self, name: &str, at: &Node, path: &str) -> Eval<bool> {
        if let Some(v) = self.condition_values.get(name) {
            return Ok(*v);
        }
        let Some(node) = self.conditions.get(name).copied() else {
            return Err(self.error_at(
                at,
                path,
                format!("no condition named `{name}` in Conditions"),
            ));
        };
        if !self.conditions_in_progress.insert(name.to_string()) {
            return Err(self.error_at(at, path, format!("condition `{name}` refers to itself")));
        }
        let saved = self.current_resource.take();
        let cpath = format!("Conditions.{name}");
        let result = match self.eval(node, &cpath) {
            Ok(Value::Bool(b)) => Ok(b),
            Ok(Value::Str(s)) if s == "true" || s == "false" => Ok(s == "true"),
            Ok(_) => Err(self.error_at(
                node,
                &cpath,
                "a condition must be Fn::Equals, Fn::Not, Fn::And, Fn::Or or Condition",
            )),
            Err(Reported) => Err(Reported),
        };
        self.current_resource = saved;
        self.conditions_in_progress.remove(name);
        if let Ok(b) = result {
            self.condition_values.insert(name.to_string(), b);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use crate::intrinsics::Ctx;
    use crate::model::StackInfo;
    use crate::node::parse;
    use std::path::PathBuf;

    fn conditions(yaml: &str) -> (Vec<(String, Option<bool>)>, Vec<String>) {
        let (node, _) = parse(yaml);
        let node = node.unwrap_or_else(|| panic!("no node"));
        let mut ctx = Ctx::new(
            PathBuf::from("t.yaml"),
            StackInfo {
                stack_name: "s".into(),
                region: "us-east-1".into(),
                account_id: "1".into(),
                partition: "aws".into(),
                url_suffix: "amazonaws.com".into(),
            },
        );
        if let Some(c) = node.get("Conditions") {
            ctx.load_conditions(c);
        }
        let names: Vec<String> = ctx.conditions.keys().cloned().collect();
        let mut out = Vec::new();
        for n in names {
            let r = ctx.condition(&n, &node, "x").ok();
            out.push((n, r));
        }
        (out, ctx.diagnostics.iter().map(|d| d.to_string()).collect())
    }

    #[test]
    fn conditions_compose() {
        let (values, errors) = conditions(
            "Conditions:\n  IsUs: !Equals [!Ref AWS::Region, us-east-1]\n  NotUs: !Not [!Condition IsUs]\n  Both: {'Fn::And': [{Condition: IsUs}, !Equals [a, a]]}\n  Either: !Or [!Condition NotUs, !Condition Both]\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        let get = |n: &str| values.iter().find(|(k, _)| k == n).and_then(|(_, v)| *v);
        assert_eq!(get("IsUs"), Some(true));
        assert_eq!(get("NotUs"), Some(false));
        assert_eq!(get("Both"), Some(true));
        assert_eq!(get("Either"), Some(true));
    }

    #[test]
    fn cycles_and_unknowns_are_errors() {
        let (values, errors) = conditions(
            "Conditions:\n  A: !Condition B\n  B: !Not [!Condition A]\n  C: !Condition Nope\n  D: hello\n",
        );
        assert!(values.iter().all(|(_, v)| v.is_none()));
        assert!(
            errors.iter().any(|e| e.contains("refers to itself")),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.contains("no condition named `Nope`")),
            "{errors:?}"
        );
        assert!(
            errors.iter().any(|e| e.contains("a condition must be")),
            "{errors:?}"
        );
    }
}
