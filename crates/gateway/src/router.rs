//! Route selection, exactly as API Gateway HTTP APIs do it (reference §2). Compiled once at
//! start-up; matching walks each route's segments against the request path without allocating,
//! and only the winner's path parameters are decoded.
//!
//! Precedence, best first:
//! 1. a full match without a greedy variable (static or `{param}` segments);
//! 2. a match through a greedy `{proxy+}` (never matches zero segments: `/pets` does not match
//!    `/pets/{proxy+}`);
//! 3. the `$default` route.
//!
//! Within a class: most literal segments, then the longest literal prefix, then the deeper route,
//! then an explicit method over `ANY`, then template order. This yields the doc's rules (static
//! beats `{param}`; explicit method beats `ANY` for the same path). Paths are case-sensitive, a
//! trailing slash makes a different path, and `HEAD` only matches `HEAD` or `ANY` routes.

use std::borrow::Cow;
use std::cmp::Ordering;

use percent_encoding::percent_decode_str;

/// Methods a route key may name (plus `ANY`).
const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Literal(Box<str>),
    Param(Box<str>),
    Greedy(Box<str>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum MethodSel {
    Any,
    Exact(Box<str>),
}

/// Why a route key cannot be served (AWS refuses such keys at deploy time).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("route key {key:?}: {problem}")]
pub struct RouteKeyError {
    pub key: String,
    pub problem: String,
}

#[derive(Debug, Clone)]
struct CompiledRoute {
    /// Caller's index for this route.
    id: usize,
    method: MethodSel,
    segs: Vec<Seg>,
    greedy: bool,
    literals: u16,
    prefix: u16,
    depth: u16,
}

/// Sort key of a candidate: higher is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Score {
    non_greedy: bool,
    literals: u16,
    prefix: u16,
    depth: u16,
    explicit: bool,
}

/// One API's compiled route table.
#[derive(Debug, Clone, Default)]
pub struct Router {
    routes: Vec<CompiledRoute>,
    default_route: Option<usize>,
}

/// The selected route: the caller's id and the decoded path parameters (empty for `$default`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch<'r> {
    pub id: usize,
    pub params: Vec<(&'r str, String)>,
}

impl Router {
    /// Compiles `(id, route key)` pairs. Keys that AWS would refuse are returned as errors and left
    /// out of the table; the rest is served.
    pub fn new<'k>(keys: impl IntoIterator<Item = (usize, &'k str)>) -> (Self, Vec<RouteKeyError>) {
        let mut router = Router::default();
        let mut errors = Vec::new();
        for (id, key) in keys {
            if key == "$default" {
                if router.default_route.is_none() {
                    router.default_route = Some(id);
                } else {
                    errors.push(err(key, "a second $default route; the first one is used"));
                }
                continue;
            }
            match compile(id, key) {
                Ok(route) => {
                    if router
                        .routes
                        .iter()
                        .any(|r| r.method == route.method && r.segs == route.segs)
                    {
                        errors.push(err(key, "duplicate route key; the first one is used"));
                    } else {
                        router.routes.push(route);
                    }
                }
                Err(e) => errors.push(e),
            }
        }
        (router, errors)
    }

    /// Selects the route for `method` and `path` (the path with any named-stage segment already
    /// removed; `""` is treated as `/`).
    pub fn select(&self, method: &str, path: &str) -> Option<RouteMatch<'_>> {
        let mut best: Option<(Score, &CompiledRoute)> = None;
        for route in &self.routes {
            let method_ok = match &route.method {
                MethodSel::Any => true,
                MethodSel::Exact(m) => **m == *method,
            };
            if !method_ok || !walk(&route.segs, path, |_, _| ()) {
                continue;
            }
            let score = Score {
                non_greedy: !route.greedy,
                literals: route.literals,
                prefix: route.prefix,
                depth: route.depth,
                explicit: route.method != MethodSel::Any,
            };
            // Strictly greater: on a full tie the earlier route (template order) wins.
            if best
                .as_ref()
                .is_none_or(|(b, _)| score.cmp(b) == Ordering::Greater)
            {
                best = Some((score, route));
            }
        }
        match best {
            Some((_, route)) => {
                let mut params = Vec::new();
                walk(&route.segs, path, |name, raw| {
                    params.push((name, decode(raw).into_owned()));
                });
                Some(RouteMatch {
                    id: route.id,
                    params,
                })
            }
            None => self.default_route.map(|id| RouteMatch {
                id,
                params: Vec::new(),
            }),
        }
    }

    /// Number of routes served (including `$default`).
    pub fn len(&self) -> usize {
        self.routes.len() + usize::from(self.default_route.is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn err(key: &str, problem: &str) -> RouteKeyError {
    RouteKeyError {
        key: key.to_owned(),
        problem: problem.to_owned(),
    }
}

fn compile(id: usize, key: &str) -> Result<CompiledRoute, RouteKeyError> {
    let (method, path) = key
        .split_once(' ')
        .ok_or_else(|| err(key, "expected `$default` or `METHOD /path`"))?;
    let method = if method == "ANY" {
        MethodSel::Any
    } else if METHODS.contains(&method) {
        MethodSel::Exact(method.into())
    } else {
        return Err(err(
            key,
            "method must be one of GET POST PUT PATCH DELETE HEAD OPTIONS ANY (upper-case)",
        ));
    };
    if !path.starts_with('/') {
        return Err(err(key, "path must start with `/`"));
    }
    if path.len() > 1 && path.ends_with('/') {
        return Err(err(key, "path must not end with `/`"));
    }
    let mut segs = Vec::new();
    if path != "/" {
        for part in path[1..].split('/') {
            if part.is_empty() {
                return Err(err(key, "empty path segment"));
            }
            let seg = match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(var) => match var.strip_suffix('+') {
                    Some(name) if !name.is_empty() => Seg::Greedy(name.into()),
                    None if !var.is_empty() => Seg::Param(var.into()),
                    _ => return Err(err(key, "empty path variable name")),
                },
                None => Seg::Literal(part.into()),
            };
            segs.push(seg);
        }
    }
    let greedy_at = segs.iter().position(|s| matches!(s, Seg::Greedy(_)));
    if greedy_at.is_some_and(|at| at + 1 != segs.len()) {
        return Err(err(
            key,
            "a greedy variable `{name+}` must be the last segment",
        ));
    }
    let count = |n: usize| u16::try_from(n).unwrap_or(u16::MAX);
    let literals = count(segs.iter().filter(|s| matches!(s, Seg::Literal(_))).count());
    let prefix = count(
        segs.iter()
            .take_while(|s| matches!(s, Seg::Literal(_)))
            .count(),
    );
    let depth = count(segs.len());
    Ok(CompiledRoute {
        id,
        method,
        greedy: greedy_at.is_some(),
        segs,
        literals,
        prefix,
        depth,
    })
}

/// Walks `segs` against `path`, calling `on_var(name, raw value)` for each variable. Returns
/// whether the whole path matched. Never allocates.
fn walk<'r, 'p>(segs: &'r [Seg], path: &'p str, mut on_var: impl FnMut(&'r str, &'p str)) -> bool {
    // `rest` holds the unmatched segments joined by `/`; `None` once every segment is consumed.
    let mut rest: Option<&'p str> = if path.is_empty() || path == "/" {
        None
    } else {
        Some(path.strip_prefix('/').unwrap_or(path))
    };
    for seg in segs {
        if let Seg::Greedy(name) = seg {
            return match rest {
                Some(r) if !r.is_empty() => {
                    on_var(name, r);
                    true
                }
                _ => false,
            };
        }
        let Some(r) = rest else { return false };
        let (head, tail) = match r.split_once('/') {
            Some((h, t)) => (h, Some(t)),
            None => (r, None),
        };
        match seg {
            Seg::Literal(lit) => {
                if **lit != *head {
                    return false;
                }
            }
            Seg::Param(name) => {
                if head.is_empty() {
                    return false;
                }
                on_var(name, head);
            }
            Seg::Greedy(_) => return false,
        }
        rest = tail;
    }
    rest.is_none()
}

/// Percent-decodes a path value (invalid UTF-8 is replaced, never refused).
pub fn decode(raw: &str) -> Cow<'_, str> {
    percent_decode_str(raw).decode_utf8_lossy()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn router(keys: &[&'static str]) -> Router {
        let (r, errors) = Router::new(keys.iter().copied().enumerate());
        assert!(errors.is_empty(), "{errors:?}");
        r
    }

    /// The key of the route selected for `method path`, or "404".
    fn pick<'k>(keys: &[&'k str], r: &Router, method: &str, path: &str) -> &'k str {
        r.select(method, path).map_or("404", |m| keys[m.id])
    }

    fn check(keys: &[&'static str], cases: &[(&str, &str, &str)]) {
        let r = router(keys);
        for (method, path, want) in cases {
            assert_eq!(pick(keys, &r, method, path), *want, "{method} {path}");
        }
    }

    #[test]
    fn doc_example() {
        check(
            &[
                "GET /pets/dog/1",
                "GET /pets/dog/{id}",
                "GET /pets/{proxy+}",
                "ANY /{proxy+}",
                "$default",
            ],
            &[
                ("GET", "/pets/dog/1", "GET /pets/dog/1"),
                ("GET", "/pets/dog/2", "GET /pets/dog/{id}"),
                ("GET", "/pets/cat/1", "GET /pets/{proxy+}"),
                ("POST", "/test/5", "ANY /{proxy+}"),
                ("POST", "/pets/dog/1", "ANY /{proxy+}"),
                ("GET", "/", "$default"),
            ],
        );
    }

    #[test]
    fn doc_example_in_reverse_template_order() {
        check(
            &[
                "$default",
                "ANY /{proxy+}",
                "GET /pets/{proxy+}",
                "GET /pets/dog/{id}",
                "GET /pets/dog/1",
            ],
            &[
                ("GET", "/pets/dog/1", "GET /pets/dog/1"),
                ("GET", "/pets/dog/2", "GET /pets/dog/{id}"),
                ("GET", "/pets/cat/1", "GET /pets/{proxy+}"),
                ("POST", "/test/5", "ANY /{proxy+}"),
            ],
        );
    }

    #[test]
    fn explicit_method_beats_any_for_same_path() {
        let keys = ["ANY /pets", "GET /pets"];
        check(
            &keys,
            &[
                ("GET", "/pets", "GET /pets"),
                ("DELETE", "/pets", "ANY /pets"),
            ],
        );
    }

    #[test]
    fn static_beats_param_and_longest_literal_prefix_wins() {
        check(
            &["GET /{a}/b", "GET /a/{b}", "GET /{x}/{y}", "GET /a/b"],
            &[
                ("GET", "/a/b", "GET /a/b"),
                ("GET", "/a/c", "GET /a/{b}"),
                ("GET", "/c/b", "GET /{a}/b"),
                ("GET", "/c/d", "GET /{x}/{y}"),
            ],
        );
        // Literal count beats literal position.
        check(
            &["GET /a/{x}/{y}", "GET /{w}/b/c"],
            &[("GET", "/a/b/c", "GET /{w}/b/c")],
        );
    }

    #[test]
    fn any_non_greedy_match_beats_greedy() {
        check(
            &["GET /pets/{proxy+}", "ANY /{a}/{b}"],
            &[
                ("GET", "/pets/x", "ANY /{a}/{b}"),
                ("GET", "/pets/x/y", "GET /pets/{proxy+}"),
            ],
        );
    }

    #[test]
    fn greedy_tie_breaks() {
        check(
            &[
                "ANY /{proxy+}",
                "GET /a/{proxy+}",
                "ANY /a/b/{proxy+}",
                "GET /a/{x}/{proxy+}",
            ],
            &[
                ("GET", "/a/b/c", "ANY /a/b/{proxy+}"),
                ("GET", "/a/z/c", "GET /a/{x}/{proxy+}"),
                ("GET", "/a/z", "GET /a/{proxy+}"),
                ("POST", "/a/z", "ANY /{proxy+}"),
            ],
        );
        check(
            &["ANY /a/{proxy+}", "GET /a/{proxy+}"],
            &[
                ("GET", "/a/1", "GET /a/{proxy+}"),
                ("PUT", "/a/1", "ANY /a/{proxy+}"),
            ],
        );
    }

    #[test]
    fn greedy_needs_at_least_one_segment() {
        check(
            &["GET /pets/{proxy+}", "$default"],
            &[
                ("GET", "/pets", "$default"),
                ("GET", "/pets/", "$default"),
                ("GET", "/pets/a", "GET /pets/{proxy+}"),
                ("GET", "/pets/a/", "GET /pets/{proxy+}"),
            ],
        );
        check(
            &["ANY /{proxy+}"],
            &[("GET", "/", "404"), ("GET", "/x/", "ANY /{proxy+}")],
        );
    }

    #[test]
    fn trailing_slash_case_and_head() {
        check(
            &["GET /x", "GET /Pets", "GET /", "ANY /any"],
            &[
                ("GET", "/x", "GET /x"),
                ("GET", "/x/", "404"),
                ("GET", "/pets", "404"),
                ("GET", "/Pets", "GET /Pets"),
                ("HEAD", "/x", "404"),
                ("HEAD", "/any", "ANY /any"),
                ("GET", "/", "GET /"),
                ("GET", "", "GET /"),
                ("get", "/x", "404"),
            ],
        );
    }

    #[test]
    fn params_are_decoded_and_one_segment() {
        let keys = ["GET /pets/{id}", "GET /files/{proxy+}", "GET /{a}/{b}/{c}"];
        let r = router(&keys);
        let m = r.select("GET", "/pets/a%20b%2Fc");
        assert_eq!(
            m,
            Some(RouteMatch {
                id: 0,
                params: vec![("id", "a b/c".to_owned())]
            })
        );
        let m = r.select("GET", "/files/x/y%20z/");
        assert_eq!(
            m.map(|m| m.params),
            Some(vec![("proxy", "x/y z/".to_owned())])
        );
        let m = r.select("GET", "/1/2/3");
        assert_eq!(
            m.map(|m| m.params),
            Some(vec![
                ("a", "1".to_owned()),
                ("b", "2".to_owned()),
                ("c", "3".to_owned())
            ])
        );
        // An empty segment never fills a `{param}`.
        assert_eq!(r.select("GET", "/pets/"), None);
        assert_eq!(r.select("GET", "/pets/1/2").map(|m| m.id), Some(2));
        assert_eq!(r.select("GET", "/pets/1/2/3"), None);
    }

    #[test]
    fn default_only_and_empty_table() {
        check(&["$default"], &[("PATCH", "/anything/at/all", "$default")]);
        let (r, _) = Router::new(std::iter::empty());
        assert!(r.is_empty());
        assert_eq!(r.select("GET", "/"), None);
    }

    #[test]
    fn refuses_keys_aws_refuses() {
        for key in [
            "GET /x/",
            "GET x",
            "get /x",
            "FETCH /x",
            "GET /{proxy+}/x",
            "GET /a//b",
            "GET /{}",
            "GET",
        ] {
            let (r, errors) = Router::new([(0, key)]);
            assert_eq!(errors.len(), 1, "{key}");
            assert!(r.is_empty(), "{key}");
        }
        let (r, errors) = Router::new([(0, "GET /a"), (1, "GET /a")]);
        assert_eq!((r.len(), errors.len()), (1, 1));
    }

    #[test]
    fn large_table_selects_correctly() {
        let keys: Vec<String> = (0..300).map(|i| format!("GET /r{i}/{{id}}")).collect();
        let (r, errors) = Router::new(keys.iter().enumerate().map(|(i, k)| (i, k.as_str())));
        assert!(errors.is_empty());
        assert_eq!(r.select("GET", "/r299/7").map(|m| m.id), Some(299));
        assert_eq!(r.select("GET", "/r300/7"), None);
    }
}
