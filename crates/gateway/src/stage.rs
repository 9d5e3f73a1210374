//! Stage selection (reference §2.2, §7): the first path segment naming a stage selects it and is
//! removed before route matching (it stays in `rawPath`); otherwise the `$default` stage serves
//! the full path; otherwise nothing does (404).

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageInfo {
    /// `$default` or the stage name.
    pub name: String,
    pub variables: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default)]
pub struct Stages {
    stages: Vec<StageInfo>,
    default: Option<usize>,
}

/// The selected stage and the path routes are matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageMatch<'g, 'p> {
    pub stage: &'g StageInfo,
    pub route_path: &'p str,
}

impl Stages {
    pub fn new(stages: impl IntoIterator<Item = StageInfo>) -> Self {
        let mut out = Stages::default();
        for stage in stages {
            if stage.name == "$default" && out.default.is_none() {
                out.default = Some(out.stages.len());
            }
            out.stages.push(stage);
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.stages.iter().map(|s| s.name.as_str())
    }

    pub fn select<'g, 'p>(&'g self, path: &'p str) -> Option<StageMatch<'g, 'p>> {
        let trimmed = path.strip_prefix('/').unwrap_or(path);
        let (first, rest) = match trimmed.find('/') {
            Some(i) => (&trimmed[..i], &trimmed[i..]),
            None => (trimmed, "/"),
        };
        if let Some(stage) = self
            .stages
            .iter()
            .find(|s| !first.is_empty() && s.name != "$default" && s.name == first)
        {
            return Some(StageMatch {
                stage,
                route_path: rest,
            });
        }
        let stage = self.stages.get(self.default?)?;
        Some(StageMatch {
            stage,
            route_path: path,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(name: &str) -> StageInfo {
        StageInfo {
            name: name.to_owned(),
            variables: BTreeMap::new(),
        }
    }

    #[test]
    fn named_stage_prefix_is_stripped() {
        let s = Stages::new([stage("dev"), stage("$default")]);
        let m = s.select("/dev/agents/1234");
        assert_eq!(
            m.map(|m| (m.stage.name.as_str(), m.route_path)),
            Some(("dev", "/agents/1234"))
        );
        let m = s.select("/dev");
        assert_eq!(
            m.map(|m| (m.stage.name.as_str(), m.route_path)),
            Some(("dev", "/"))
        );
        let m = s.select("/dev/");
        assert_eq!(
            m.map(|m| (m.stage.name.as_str(), m.route_path)),
            Some(("dev", "/"))
        );
    }

    #[test]
    fn default_stage_gets_full_path() {
        let s = Stages::new([stage("dev"), stage("$default")]);
        for path in ["/develop/x", "/Dev/x", "/", "/x/dev"] {
            let m = s.select(path);
            assert_eq!(
                m.map(|m| (m.stage.name.as_str(), m.route_path)),
                Some(("$default", path))
            );
        }
    }

    #[test]
    fn no_default_stage_means_not_found() {
        let s = Stages::new([stage("prod")]);
        assert_eq!(s.select("/x"), None);
        assert_eq!(s.select("/"), None);
        assert!(s.select("/prod/x").is_some());
        assert_eq!(Stages::new([]).select("/"), None);
    }
}
