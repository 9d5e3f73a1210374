//! Request ids in API Gateway's shape: 16 characters, 15 from the URL-safe base64 alphabet and a
//! trailing `=` (e.g. `LV7fzho-PHcEJPw=`), which is exactly what 11 bytes encode to.

use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;

/// Process-wide counter, started at a random value so that ids differ across restarts.
static COUNTER: AtomicU64 = AtomicU64::new(0);
static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

/// A new, process-unique request id.
///
/// Uniqueness: 6 bytes come from a counter (unique for 2^48 requests per process); the other 5
/// bytes are random, so ids also differ between processes and look like AWS's.
pub fn new_request_id() -> String {
    let seed = *SEED.get_or_init(|| fastrand::u64(..));
    let n = seed.wrapping_add(COUNTER.fetch_add(1, Ordering::Relaxed));
    let mut raw = [0u8; 11];
    raw[..6].copy_from_slice(&n.to_be_bytes()[2..]);
    for b in &mut raw[6..] {
        *b = fastrand::u8(..);
    }
    // Put the fastest-changing byte first so ids do not share a long common prefix.
    raw.swap(0, 5);
    URL_SAFE.encode(raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn has_aws_shape() {
        let id = new_request_id();
        assert_eq!(id.len(), 16, "{id}");
        assert!(id.ends_with('='), "{id}");
        assert!(
            id[..15]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{id}"
        );
    }

    #[test]
    fn ids_are_unique() {
        let ids: HashSet<String> = (0..10_000).map(|_| new_request_id()).collect();
        assert_eq!(ids.len(), 10_000);
    }
}
