//! Quota periods in UTC: which period an instant falls in, when the next one starts, and that
//! instant as RFC 3339 text for the answer. The wall clock is injected ([`Clock`]) so a test can
//! cross a period boundary without waiting for midnight.
//!
//! Calendar arithmetic is Howard Hinnant's `days_from_civil` / `civil_from_days` (public domain,
//! exact for the proleptic Gregorian calendar); written here because the gateway needs only these
//! two functions, not a date library.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::Period;

/// Seconds since the Unix epoch, now. Injected: the gateway uses the system clock, tests a
/// clock they move.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    })
}

const DAY: u64 = 86_400;

/// The period `now` falls in, as a number that grows by one per period, and when the next
/// period starts (Unix seconds).
pub fn current(period: Period, now: u64) -> (u64, u64) {
    let days = now / DAY;
    match period {
        Period::Day => (days, (days + 1) * DAY),
        Period::Week => {
            // 1970-01-01 was a Thursday: day 4 was the first Monday, so weeks start at days ≡ 4.
            let week = (days + 3) / 7;
            (week, (week * 7 + 4) * DAY)
        }
        Period::Month => {
            let (y, m, _) = civil_from_days(days as i64);
            let index = (y * 12 + i64::from(m) - 1) as u64;
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            (index, days_from_civil(ny, nm, 1) as u64 * DAY)
        }
    }
}

/// Unix seconds as RFC 3339 in UTC (`2026-12-09T00:00:00Z`).
pub fn rfc3339(secs: u64) -> String {
    let (y, m, d) = civil_from_days((secs / DAY) as i64);
    let rest = secs % DAY;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-08T01:13:38Z
    const NOW: u64 = 1_796_692_418;

    #[test]
    fn calendar_round_trips() {
        for days in [-800_000i64, -1, 0, 59, 365, 11_016, 20_795, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(rfc3339(NOW), "2026-12-08T01:13:38Z");
    }

    #[test]
    fn periods_end_at_the_next_utc_boundary() {
        let (day, next) = current(Period::Day, NOW);
        assert_eq!(rfc3339(next), "2026-12-09T00:00:00Z");
        assert_eq!(current(Period::Day, next - 1).0, day);
        assert_eq!(current(Period::Day, next).0, day + 1);

        // 2026-12-08 is a Tuesday: the week ends on Monday 2026-12-14.
        let (week, next) = current(Period::Week, NOW);
        assert_eq!(rfc3339(next), "2026-12-14T00:00:00Z");
        assert_eq!(current(Period::Week, next - 1).0, week);
        assert_eq!(current(Period::Week, next).0, week + 1);
        assert_eq!(rfc3339(current(Period::Week, 0).1), "1970-01-05T00:00:00Z");

        let (month, next) = current(Period::Month, NOW);
        assert_eq!(rfc3339(next), "2027-01-01T00:00:00Z");
        assert_eq!(current(Period::Month, next).0, month + 1);
        let feb = days_from_civil(2028, 2, 10) as u64 * DAY;
        assert_eq!(
            rfc3339(current(Period::Month, feb).1),
            "2028-03-01T00:00:00Z"
        );
    }
}
