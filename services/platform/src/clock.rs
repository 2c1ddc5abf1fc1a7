//! What time it is, and what day. One clock per process, built from its settings (`clock.today`)
//! and handed to every part whose rules need "now" or "today": publishing sessions, shortlist
//! windows, working days, tax years, benefits weeks, expiry of training, rate cards in force, FFT
//! months, the demo data. Nothing else reads the system's time for a rule (clippy's
//! `disallowed-methods` refuses `OffsetDateTime::now_utc` and `SystemTime::now` outside this
//! file), so a test or a demonstration can run the whole suite "on" another day.
//!
//! What records when something really happened rather than deciding a rule — internal tokens'
//! five-minute lifetime, the audit log, the outbox's and inbox's bookkeeping — reads
//! [`SystemClock`] by name, so a moved clock never back-dates an audit entry or keeps a token alive.

use std::sync::{Arc, Mutex};

use time::macros::{offset, time};
use time::{Date, Duration, Month, OffsetDateTime, UtcOffset, Weekday};

/// A source of the current instant. `today` is the day in England, which every NHS rule counts in.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant, in UTC.
    fn now(&self) -> OffsetDateTime;

    /// Today in England: GMT in winter, BST in summer.
    fn today(&self) -> Date {
        in_england(self.now()).date()
    }

    /// Now as RFC 3339 in UTC: the one timestamp format on every contract.
    fn now_rfc3339(&self) -> String {
        crate::format_rfc3339(self.now())
    }
}

/// The clock a process shares between its parts.
pub type SharedClock = Arc<dyn Clock>;

/// The system's time: production's clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // The one read of the system's time.
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// The system's time moved by whole days: the process runs "on" another day, its hours passing
/// as the system's do (so timestamps still order and expiries still come).
#[derive(Clone, Copy, Debug)]
pub struct ShiftedClock {
    by: Duration,
}

impl ShiftedClock {
    /// A clock on which it is `day` now in England, moving on from there.
    pub fn on(day: Date) -> Self {
        Self::on_from(day, SystemClock.now())
    }

    /// A clock on which it is `day` in England at `now` on the system's clock: the same time
    /// of day in England, so that a winter evening moved to a summer day (whose England is an
    /// hour ahead of UTC) is not already the next day there.
    fn on_from(day: Date, now: OffsetDateTime) -> Self {
        let then = england_instant(day.with_time(in_england(now).time()));
        Self { by: then - now }
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> OffsetDateTime {
        SystemClock.now() + self.by
    }
}

/// A clock that stands still until it is set or moved: for tests of a rule at an exact moment.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<OffsetDateTime>,
}

impl ManualClock {
    pub fn at(now: OffsetDateTime) -> Self {
        Self {
            now: Mutex::new(now),
        }
    }

    /// A clock standing at noon (UTC) on `day`.
    pub fn on(day: Date) -> Self {
        Self::at(day.with_time(time!(12:00)).assume_utc())
    }

    pub fn set(&self, now: OffsetDateTime) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = now;
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The system's clock, shared.
pub fn system() -> SharedClock {
    Arc::new(SystemClock)
}

/// A clock on which it is `day` now (see [`ShiftedClock`]), or the system's when `None`.
pub fn on(day: Option<Date>) -> SharedClock {
    match day {
        Some(day) => Arc::new(ShiftedClock::on(day)),
        None => system(),
    }
}

/// The instant `day` begins in England (midnight GMT or BST), in UTC: where a day's records
/// kept in UTC begin, for rules that count days in England (a tax year from 6 April).
pub fn start_of_day_in_england(day: Date) -> OffsetDateTime {
    england_instant(day.midnight()).to_offset(UtcOffset::UTC)
}

/// The instant England's clocks show `local`: in BST when England keeps BST then, else in GMT
/// (and in GMT for the hour the clocks skip).
fn england_instant(local: time::PrimitiveDateTime) -> OffsetDateTime {
    [offset!(+1), UtcOffset::UTC]
        .into_iter()
        .map(|o| local.assume_offset(o))
        .find(|t| england_offset(*t) == t.offset())
        .unwrap_or_else(|| local.assume_utc())
}

/// `at` in England's civil time.
pub fn in_england(at: OffsetDateTime) -> OffsetDateTime {
    at.to_offset(england_offset(at))
}

/// England's offset from UTC at `at`: BST (UTC+1) from 01:00 UTC on the last Sunday of March to
/// 01:00 UTC on the last Sunday of October, GMT otherwise (the Summer Time Order 2002).
pub fn england_offset(at: OffsetDateTime) -> UtcOffset {
    let at = at.to_offset(UtcOffset::UTC);
    let year = at.year();
    let starts = last_sunday(year, Month::March).with_time(time!(1:00));
    let ends = last_sunday(year, Month::October).with_time(time!(1:00));
    let utc = at.date().with_time(at.time());
    if utc >= starts && utc < ends {
        offset!(+1)
    } else {
        UtcOffset::UTC
    }
}

fn last_sunday(year: i32, month: Month) -> Date {
    let mut day = Date::from_calendar_date(year, month, month.length(year)).unwrap_or(Date::MIN);
    while day.weekday() != Weekday::Sunday {
        day = day.previous_day().unwrap_or(day);
    }
    day
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn today_is_the_day_in_england() {
        // 23:30 UTC in July is 00:30 BST the next day.
        let summer = ManualClock::at(datetime!(2026-07-14 23:30 UTC));
        assert_eq!(summer.today(), date!(2026 - 07 - 15));
        // In winter England keeps GMT.
        let winter = ManualClock::at(datetime!(2026-12-31 23:30 UTC));
        assert_eq!(winter.today(), date!(2026 - 12 - 31));
    }

    #[test]
    fn summer_time_starts_and_ends_at_one_in_the_morning_utc() {
        // 2027: BST from Sunday 28 March to Sunday 31 October.
        let hour = |at: OffsetDateTime| england_offset(at).whole_hours();
        assert_eq!(hour(datetime!(2027-03-28 00:59 UTC)), 0);
        assert_eq!(hour(datetime!(2027-03-28 01:00 UTC)), 1);
        assert_eq!(hour(datetime!(2027-10-31 00:59 UTC)), 1);
        assert_eq!(hour(datetime!(2027-10-31 01:00 UTC)), 0);
        // A leap year whose last Sunday of March is the 31st.
        assert_eq!(hour(datetime!(2024-03-31 01:00 UTC)), 1);
        assert_eq!(hour(datetime!(2024-03-30 12:00 UTC)), 0);
    }

    #[test]
    fn a_shifted_clock_is_on_its_day_and_keeps_moving() {
        let clock = ShiftedClock::on(date!(2028 - 02 - 29));
        assert_eq!(clock.today(), date!(2028 - 02 - 29));
        let first = clock.now();
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(clock.now() > first);
        assert_eq!(on(None).today(), SystemClock.today());
    }

    #[test]
    fn a_day_in_england_begins_at_midnight_there() {
        assert_eq!(
            start_of_day_in_england(date!(2027 - 04 - 06)),
            datetime!(2027-04-05 23:00 UTC)
        );
        assert_eq!(
            start_of_day_in_england(date!(2027 - 01 - 06)),
            datetime!(2027-01-06 00:00 UTC)
        );
    }

    #[test]
    fn a_winter_evening_moved_to_a_summer_day_is_still_that_day() {
        // 23:54 UTC in December, moved to a day of British Summer Time (UTC+1): still that day
        // in England, at 23:54 there.
        let clock = ShiftedClock::on_from(date!(2027 - 04 - 05), datetime!(2026-12-07 23:54 UTC));
        let at = datetime!(2026-12-07 23:54 UTC) + clock.by;
        assert_eq!(in_england(at).date(), date!(2027 - 04 - 05));
        assert_eq!(in_england(at).time(), time!(23:54));
        // And a summer evening moved to winter.
        let clock = ShiftedClock::on_from(date!(2026 - 12 - 07), datetime!(2026-07-14 22:30 UTC));
        let at = datetime!(2026-07-14 22:30 UTC) + clock.by;
        assert_eq!(in_england(at).date(), date!(2026 - 12 - 07));
        assert_eq!(in_england(at).time(), time!(23:30));
    }

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let clock = ManualClock::on(date!(2027 - 04 - 05));
        assert_eq!(clock.now(), clock.now());
        clock.advance(Duration::days(1));
        assert_eq!(clock.today(), date!(2027 - 04 - 06));
        clock.set(datetime!(2027-01-01 09:00 UTC));
        assert_eq!(clock.now_rfc3339(), "2027-01-01T09:00:00Z");
    }
}
