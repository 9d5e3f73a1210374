//! IAM's wildcard matching: `StringLike` (case-sensitive) and action names (case-insensitive).
//! `*` matches any run of characters (including none, including `/` and `:`), `?` exactly one.

/// `StringLike`: `value` matches `pattern`, case-sensitively.
pub fn string_like(pattern: &str, value: &str) -> bool {
    glob(
        &pattern.chars().collect::<Vec<_>>(),
        &value.chars().collect::<Vec<_>>(),
        false,
    )
}

/// An action (`lambda:InvokeFunction`) against a policy's action pattern (`lambda:invoke*`,
/// `*`): IAM compares actions case-insensitively.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    glob(
        &pattern.chars().collect::<Vec<_>>(),
        &action.chars().collect::<Vec<_>>(),
        true,
    )
}

/// Iterative glob with one backtrack point (linear-ish, no recursion: patterns come from users).
fn glob(pattern: &[char], value: &[char], fold: bool) -> bool {
    let eq = |a: char, b: char| {
        if fold {
            a.to_lowercase().eq(b.to_lowercase())
        } else {
            a == b
        }
    };
    let (mut p, mut v) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while v < value.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, v));
                p += 1;
            }
            Some('?') => {
                p += 1;
                v += 1;
            }
            Some(&c) if eq(c, value[v]) => {
                p += 1;
                v += 1;
            }
            _ => match star {
                Some((sp, sv)) => {
                    p = sp + 1;
                    v = sv + 1;
                    star = Some((sp, sv + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn string_like_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("", "", true),
            ("", "a", false),
            ("*", "", true),
            ("*", "anything/with:colons", true),
            ("a*", "abc", true),
            ("a*", "b", false),
            ("*c", "abc", true),
            ("a*c", "ac", true),
            ("a*c", "abcbc", true),
            ("a*c", "abcb", false),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("a?c", "abbc", false),
            ("abc", "ABC", false),
            (
                "arn:aws:execute-api:us-east-1:1:api/*",
                "arn:aws:execute-api:us-east-1:1:api/$default/GET/pets",
                true,
            ),
            (
                "arn:aws:execute-api:us-east-1:1:api/*/*",
                "arn:aws:execute-api:us-east-1:1:api/$default/$default",
                true,
            ),
            (
                "arn:aws:execute-api:us-east-1:1:api/*/GET/pets",
                "arn:aws:execute-api:us-east-1:1:api/$default/POST/pets",
                false,
            ),
            (
                "arn:aws:execute-api:us-east-1:1:api/*/*/pets/*",
                "arn:aws:execute-api:us-east-1:1:api/prod/GET/pets/1/2",
                true,
            ),
            ("**a**", "xxaxx", true),
            ("*?*", "", false),
            ("*?*", "x", true),
        ];
        for (pattern, value, expected) in cases {
            assert_eq!(
                string_like(pattern, value),
                *expected,
                "{pattern} ~ {value}"
            );
        }
    }

    #[test]
    fn actions_ignore_case() {
        assert!(action_matches(
            "lambda:InvokeFunction",
            "lambda:invokefunction"
        ));
        assert!(action_matches("LAMBDA:invoke*", "lambda:InvokeFunction"));
        assert!(action_matches("lambda:*", "lambda:InvokeFunction"));
        assert!(action_matches("*", "lambda:InvokeFunction"));
        assert!(action_matches(
            "lambda:Invoke?unction",
            "lambda:InvokeFunction"
        ));
        assert!(!action_matches(
            "lambda:InvokeAsync",
            "lambda:InvokeFunction"
        ));
        assert!(!action_matches("s3:*", "lambda:InvokeFunction"));
    }

    #[test]
    fn long_inputs_are_fast() {
        let pattern = "*a".repeat(200);
        let value = "a".repeat(5000) + "b";
        assert!(!string_like(&pattern, &value));
    }
}
