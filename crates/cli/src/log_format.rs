//! The log line format: `2026-11-25T07:12:03.221552Z  INFO target: message key=value …`, the
//! layout of `tracing-subscriber`'s default format, written with less work per line (the
//! timestamp's date and time are formatted once per second per thread; no per-field
//! allocation). At thousands of requests a second each request logs four lines (the access line
//! and the function's START/END/REPORT), so this is on the hot path.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

pub struct LineFormat;

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write_timestamp(&mut writer)?;
        let meta = event.metadata();
        let (level, color) = match *meta.level() {
            Level::ERROR => ("ERROR", "\x1b[31m"),
            Level::WARN => (" WARN", "\x1b[33m"),
            Level::INFO => (" INFO", "\x1b[32m"),
            Level::DEBUG => ("DEBUG", "\x1b[34m"),
            Level::TRACE => ("TRACE", "\x1b[35m"),
        };
        if writer.has_ansi_escapes() {
            write!(
                writer,
                " {color}{level}\x1b[0m \x1b[2m{}\x1b[0m: ",
                meta.target()
            )?;
        } else {
            write!(writer, " {level} {}: ", meta.target())?;
        }
        let mut fields = Fields {
            writer: &mut writer,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        writer.write_char('\n')
    }
}

/// Writes the message as it is and every other field as ` name=value` (strings quoted, as the
/// default format does).
struct Fields<'a, 'w> {
    writer: &'a mut Writer<'w>,
    result: fmt::Result,
}

impl Visit for Fields<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.result.is_err() {
            return;
        }
        self.result = if field.name() == "message" {
            self.writer.write_str(value)
        } else {
            write!(self.writer, " {}={value:?}", field.name())
        };
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.result.is_err() {
            return;
        }
        self.result = if field.name() == "message" {
            write!(self.writer, "{value:?}")
        } else {
            write!(self.writer, " {}={value:?}", field.name())
        };
    }
}

thread_local! {
    /// The last second formatted on this thread, and its `YYYY-MM-DDTHH:MM:SS` text.
    static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// `2026-11-25T07:12:03.221552Z` (UTC, microseconds).
fn write_timestamp(writer: &mut Writer<'_>) -> fmt::Result {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    SECOND.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != secs {
            cached.1.clear();
            let _ = write_date_time(&mut cached.1, secs);
            cached.0 = secs;
        }
        write!(writer, "{}.{:06}Z", cached.1, now.subsec_micros())
    })
}

/// `YYYY-MM-DDTHH:MM:SS` of a Unix time (Howard Hinnant's civil-from-days).
fn write_date_time(out: &mut String, secs: u64) -> fmt::Result {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::write_date_time;

    #[test]
    fn civil_time() {
        let mut s = String::new();
        let _ = write_date_time(&mut s, 0);
        assert_eq!(s, "1970-01-01T00:00:00");
        s.clear();
        // 2026-11-25T07:12:03Z
        let _ = write_date_time(&mut s, 1_795_590_723);
        assert_eq!(s, "2026-11-25T07:12:03");
        s.clear();
        // 2024-02-29T23:59:59Z (leap day)
        let _ = write_date_time(&mut s, 1_709_251_199);
        assert_eq!(s, "2024-02-29T23:59:59");
    }
}
