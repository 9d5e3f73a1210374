//! CloudWatch-style logs: the process's stdout/stderr read line by line, attributed to the
//! current invocation, emitted through `tracing` (target `lambda`) and collected per invocation
//! (START … REPORT) for `X-Amz-Log-Type: Tail`.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// Where one environment's output goes.
pub struct LogSink {
    function: Arc<str>,
    state: Mutex<SinkState>,
}

#[derive(Default)]
struct SinkState {
    request_id: Option<Arc<str>>,
    /// This invocation's log so far; lines printed while idle wait here for the next START.
    buf: String,
}

impl LogSink {
    pub fn new(function: Arc<str>) -> Arc<Self> {
        Arc::new(LogSink {
            function,
            state: Mutex::new(SinkState::default()),
        })
    }

    fn state(&self) -> MutexGuard<'_, SinkState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One line the function printed.
    pub fn function_line(&self, line: &str) {
        let mut st = self.state();
        // START/END/REPORT carry the request id in their text, as in CloudWatch.
        tracing::info!(target: "lambda", function = %self.function, "{line}");
        st.buf.push_str(line);
        st.buf.push('\n');
    }

    /// A platform line (START, END, REPORT...).
    pub fn platform_line(&self, line: &str) {
        let mut st = self.state();
        // START/END/REPORT carry the request id in their text, as in CloudWatch.
        tracing::info!(target: "lambda", function = %self.function, "{line}");
        st.buf.push_str(line);
        st.buf.push('\n');
    }

    /// Starts attributing lines to `request_id` and writes START. Lines printed since the last
    /// invocation ended (e.g. during init) come first, as in CloudWatch.
    pub fn begin(&self, request_id: &Arc<str>) {
        let mut st = self.state();
        st.request_id = Some(request_id.clone());
        let line = format!("START RequestId: {request_id} Version: $LATEST");
        tracing::info!(target: "lambda", function = %self.function, "{line}");
        st.buf.push_str(&line);
        st.buf.push('\n');
    }

    /// Takes this invocation's log (up to and including REPORT) and stops attributing lines.
    pub fn finish(&self) -> String {
        let mut st = self.state();
        st.request_id = None;
        std::mem::take(&mut st.buf)
    }
}

/// Reads `stream` line by line into `sink` until EOF.
pub fn spawn_reader<R>(stream: R, sink: Arc<LogSink>) -> tokio::task::JoinHandle<()>
where
    R: AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut reader = BufReader::new(stream);
        let mut line = Vec::with_capacity(256);
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    while matches!(line.last(), Some(b'\n' | b'\r')) {
                        line.pop();
                    }
                    sink.function_line(&String::from_utf8_lossy(&line));
                }
            }
        }
    })
}

/// What REPORT says about how an invocation ended.
pub enum ReportStatus<'a> {
    Ok,
    Timeout,
    Error(&'a str),
}

pub struct Report<'a> {
    pub request_id: &'a str,
    pub duration: Duration,
    pub memory_mb: u64,
    pub max_memory_mb: u64,
    pub init_duration: Option<Duration>,
    pub status: ReportStatus<'a>,
}

impl Report<'_> {
    pub fn line(&self) -> String {
        let ms = self.duration.as_secs_f64() * 1000.0;
        let billed = ms.ceil().max(1.0) as u64;
        let mut s = format!(
            "REPORT RequestId: {}\tDuration: {ms:.2} ms\tBilled Duration: {billed} ms\tMemory Size: {} MB\tMax Memory Used: {} MB\t",
            self.request_id, self.memory_mb, self.max_memory_mb
        );
        if let Some(init) = self.init_duration {
            let _ = write!(s, "Init Duration: {:.2} ms\t", init.as_secs_f64() * 1000.0);
        }
        match self.status {
            ReportStatus::Ok => {}
            ReportStatus::Timeout => s.push_str("Status: timeout"),
            ReportStatus::Error(t) => {
                let _ = write!(s, "Status: error\tError Type: {t}");
            }
        }
        s
    }
}

/// Peak resident memory (VmHWM) of `pid` in MB, rounded up, if /proc is readable.
pub fn max_memory_mb(pid: u32) -> Option<u64> {
    // A procfs read is served from kernel memory: it does not block like disk I/O.
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb.div_ceil(1024))
}

/// A random UUID v4, lowercase and hyphenated.
pub fn uuid_v4() -> String {
    let mut b = fastrand::u128(..).to_be_bytes();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut s = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        let _ = write!(s, "{byte:02x}");
    }
    s
}

/// `YYYY/MM/DD/[$LATEST]<32 hex>`.
pub fn log_stream_name() -> String {
    let (y, m, d, ..) = civil(SystemTime::now());
    format!("{y:04}/{m:02}/{d:02}/[$LATEST]{:032x}", fastrand::u128(..))
}

/// `2024-02-13T21:01:04.936Z`.
pub fn iso8601(t: SystemTime) -> String {
    let (y, mo, d, h, mi, s, ms) = civil(t);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
}

/// UTC civil time (Howard Hinnant's days-to-civil).
fn civil(t: SystemTime) -> (i64, u32, u32, u32, u32, u32, u32) {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400) as u32;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        since.subsec_millis(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let t = UNIX_EPOCH + Duration::from_millis(1_707_858_064_936);
        assert_eq!(iso8601(t), "2024-02-13T21:01:04.936Z");
        let u = uuid_v4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        let r = Report {
            request_id: "r",
            duration: Duration::from_micros(3210),
            memory_mb: 128,
            max_memory_mb: 40,
            init_duration: None,
            status: ReportStatus::Error("Runtime.ExitError"),
        };
        assert_eq!(
            r.line(),
            "REPORT RequestId: r\tDuration: 3.21 ms\tBilled Duration: 4 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\tStatus: error\tError Type: Runtime.ExitError"
        );
    }
}
