//! The one access line per request (target `access`), and one warning per 4xx/5xx saying why.

use std::time::Duration;

/// What the access line reports about one request.
#[derive(Debug, Clone, Default)]
pub struct AccessRecord<'a> {
    pub request_id: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub route_key: Option<&'a str>,
    pub function: Option<&'a str>,
    pub status: u16,
    pub latency: Duration,
    /// For 4xx/5xx: the cause in plain words, with the fix where known.
    pub cause: Option<&'a str>,
}

/// `12.34`: milliseconds with two decimals.
pub fn latency_ms(latency: Duration) -> String {
    format!("{:.2}", latency.as_secs_f64() * 1000.0)
}

pub fn write(record: &AccessRecord<'_>) {
    let latency = latency_ms(record.latency);
    let route = record.route_key.unwrap_or("-");
    let function = record.function.unwrap_or("-");
    tracing::info!(
        target: "access",
        request_id = record.request_id,
        route = route,
        function = function,
        // Method, path, status and latency are in the message: one short line per request.
        "{} {} {} {}ms",
        record.method,
        record.path,
        record.status,
        latency
    );
    if record.status >= 400 {
        let cause = record
            .cause
            .unwrap_or("the function itself returned this status");
        tracing::warn!(
            target: "stackgate::gateway",
            request_id = record.request_id,
            status = record.status,
            route = route,
            "{} {} → {}: {cause}",
            record.method,
            record.path,
            record.status
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_has_two_decimals() {
        assert_eq!(latency_ms(Duration::from_micros(12_345)), "12.35");
        assert_eq!(latency_ms(Duration::ZERO), "0.00");
    }
}
