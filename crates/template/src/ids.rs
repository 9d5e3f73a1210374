//! Stable physical ids: derived from a hash of the stack name and the logical id, never random, so
//! the same template gives the same ids on every start (FNV-1a, hand-written: std's hashers are not
//! stable across Rust versions).

const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const HEX: &[u8] = b"0123456789abcdef";

/// 64-bit FNV-1a.
pub fn fnv1a(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// splitmix64's finaliser: spreads FNV's output so that similar inputs give unrelated ids.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn chars(seed: &str, alphabet: &[u8], len: usize) -> String {
    let base = alphabet.len() as u64;
    let mut out = String::with_capacity(len);
    let mut round = 0u32;
    while out.len() < len {
        let mut h = mix(fnv1a(format!("{seed}\u{0}{round}").as_bytes()));
        // 8 characters per round keeps each well inside the hash's entropy.
        for _ in 0..8 {
            if out.len() >= len {
                break;
            }
            let i = usize::try_from(h % base).unwrap_or(0);
            out.push(alphabet.get(i).copied().map_or('0', char::from));
            h /= base;
        }
        round += 1;
    }
    out
}

/// `len` lower-case alphanumerics for (stack, logical id, kind).
pub fn lower(stack: &str, logical_id: &str, kind: &str, len: usize) -> String {
    chars(
        &format!("{stack}\u{0}{logical_id}\u{0}{kind}"),
        LOWER_ALNUM,
        len,
    )
}

/// `len` upper-case alphanumerics for (stack, logical id, kind).
pub fn upper(stack: &str, logical_id: &str, kind: &str, len: usize) -> String {
    chars(
        &format!("{stack}\u{0}{logical_id}\u{0}{kind}"),
        UPPER_ALNUM,
        len,
    )
}

/// A uuid-looking id (8-4-4-4-12 hex) for the stack id.
pub fn uuid(seed: &str) -> String {
    let h = chars(seed, HEX, 32);
    let part = |a: usize, b: usize| h.get(a..b).unwrap_or("0").to_string();
    format!(
        "{}-{}-{}-{}-{}",
        part(0, 8),
        part(8, 12),
        part(12, 16),
        part(16, 20),
        part(20, 32)
    )
}

/// The name CloudFormation generates for a resource without an explicit name:
/// `{stack}-{logicalId}-{12 upper-case alphanumerics}`, at most `max` characters (the prefix is
/// shortened, the random-looking suffix kept).
pub fn generated_name(stack: &str, logical_id: &str, max: usize) -> String {
    let suffix = upper(stack, logical_id, "name", 12);
    let mut prefix = format!("{stack}-{logical_id}");
    let room = max.saturating_sub(suffix.len() + 1);
    if prefix.len() > room {
        let mut cut = room;
        while cut > 0 && !prefix.is_char_boundary(cut) {
            cut -= 1;
        }
        prefix.truncate(cut);
    }
    format!("{prefix}-{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_known_values() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn stable_and_shaped() {
        let a = lower("s", "Api", "api", 10);
        assert_eq!(a, lower("s", "Api", "api", 10));
        assert_eq!(a.len(), 10);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
        assert_ne!(a, lower("s", "Api2", "api", 10));
        assert_ne!(a, lower("t", "Api", "api", 10));
        let u = uuid("x");
        assert_eq!(u.len(), 36);
        let n = generated_name(&"s".repeat(80), "Fn", 64);
        assert_eq!(n.len(), 64);
        assert!(generated_name("stack", "Fn", 64).starts_with("stack-Fn-"));
    }
}
