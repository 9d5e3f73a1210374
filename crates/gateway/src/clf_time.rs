//! Time formats API Gateway puts in events: CLF (`21/Apr/2020:15:08:21 +0000`), epoch
//! milliseconds, and the epoch-seconds hex used in `x-amzn-trace-id`.

use std::time::{SystemTime, UNIX_EPOCH};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Milliseconds since the Unix epoch (0 for times before it).
pub fn epoch_millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Seconds since the Unix epoch (0 for times before it).
pub fn epoch_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `dd/Mon/yyyy:HH:mm:ss +0000` in UTC.
pub fn clf(t: SystemTime) -> String {
    let secs = epoch_secs(t);
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    let month = MONTHS
        .get((m as usize).wrapping_sub(1))
        .copied()
        .unwrap_or("Jan");
    format!(
        "{d:02}/{month}/{y:04}:{:02}:{:02}:{:02} +0000",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 → (year, month 1-12, day 1-31). Howard Hinnant's algorithm, restricted
/// to dates after the epoch.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn formats_the_aws_doc_example() {
        // 2020-04-21T15:08:21Z
        assert_eq!(clf(at(1_587_481_701)), "21/Apr/2020:15:08:21 +0000");
    }

    #[test]
    fn formats_epoch_leap_day_and_year_end() {
        assert_eq!(clf(at(0)), "01/Jan/1970:00:00:00 +0000");
        // 2024-02-29T23:59:59Z
        assert_eq!(clf(at(1_709_251_199)), "29/Feb/2024:23:59:59 +0000");
        // 1999-12-31T23:59:59Z
        assert_eq!(clf(at(946_684_799)), "31/Dec/1999:23:59:59 +0000");
    }

    #[test]
    fn epoch_millis_counts_millis() {
        assert_eq!(
            epoch_millis(UNIX_EPOCH + Duration::from_millis(1_583_348_638_390)),
            1_583_348_638_390
        );
    }
}
