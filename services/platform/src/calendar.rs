//! Working days in England: Monday to Friday, less the bank holidays of England and Wales
//! (the Banking and Financial Dealings Act 1971 and royal proclamations): New Year's Day, Good
//! Friday, Easter Monday, the early May and spring bank holidays (first and last Mondays of
//! May), the summer bank holiday (last Monday of August), Christmas Day and Boxing Day, each
//! moved to the next weekday when it falls at a weekend; with the one-off changes proclaimed
//! since 2020 (VE Day 2020, the Platinum Jubilee and the State Funeral in 2022, the
//! Coronation in 2023). A proclamation after this list needs adding here.

use time::{Date, Month, Weekday};

/// Easter Sunday (Gregorian), by the anonymous algorithm (Meeus/Jones/Butcher).
pub fn easter_sunday(year: i32) -> Date {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    Date::from_calendar_date(
        year,
        Month::try_from(month as u8).expect("March or April"),
        day as u8,
    )
    .expect("Easter is a date")
}

fn weekend(d: Date) -> bool {
    matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
}

fn date(year: i32, month: Month, day: u8) -> Date {
    Date::from_calendar_date(year, month, day).expect("a fixed date of the year")
}

/// The first Monday on or after `d`.
fn monday_from(d: Date) -> Date {
    let mut d = d;
    while d.weekday() != Weekday::Monday {
        d = d.next_day().expect("a later day");
    }
    d
}

/// The last Monday of a month whose last day is `last`.
fn last_monday(last: Date) -> Date {
    let mut d = last;
    while d.weekday() != Weekday::Monday {
        d = d.previous_day().expect("an earlier day");
    }
    d
}

/// The bank holidays of England and Wales in `year`, in date order.
pub fn bank_holidays(year: i32) -> Vec<Date> {
    let mut days = Vec::new();
    // New Year's Day, or the next Monday.
    let new_year = date(year, Month::January, 1);
    days.push(if weekend(new_year) {
        monday_from(new_year)
    } else {
        new_year
    });
    let easter = easter_sunday(year);
    days.push(easter - time::Duration::days(2));
    days.push(easter + time::Duration::days(1));
    // Early May: the first Monday, moved to 8 May for VE Day's 75th anniversary in 2020.
    days.push(if year == 2020 {
        date(2020, Month::May, 8)
    } else {
        monday_from(date(year, Month::May, 1))
    });
    if year == 2023 {
        days.push(date(2023, Month::May, 8)); // the Coronation
    }
    // Spring: the last Monday of May, moved to 2 June for the Platinum Jubilee in 2022.
    if year == 2022 {
        days.push(date(2022, Month::June, 2));
        days.push(date(2022, Month::June, 3));
    } else {
        days.push(last_monday(date(year, Month::May, 31)));
    }
    days.push(last_monday(date(year, Month::August, 31)));
    if year == 2022 {
        days.push(date(2022, Month::September, 19)); // the State Funeral
    }
    // Christmas and Boxing Day, each at a weekend moved to the next free weekday.
    let christmas = date(year, Month::December, 25);
    let boxing = date(year, Month::December, 26);
    match christmas.weekday() {
        Weekday::Friday => days.extend([christmas, date(year, Month::December, 28)]),
        Weekday::Saturday => days.extend([
            date(year, Month::December, 27),
            date(year, Month::December, 28),
        ]),
        Weekday::Sunday => days.extend([
            date(year, Month::December, 26),
            date(year, Month::December, 27),
        ]),
        _ => days.extend([christmas, boxing]),
    }
    days.sort();
    days
}

/// Whether `d` is a working day in England.
pub fn is_working_day(d: Date) -> bool {
    !weekend(d) && !bank_holidays(d.year()).contains(&d)
}

/// Whole working days after `from` up to and including `to`.
pub fn working_days_between(from: Date, to: Date) -> i64 {
    let mut days = 0;
    let mut d = from;
    while d < to {
        d = d.next_day().expect("a date before `to` has a next day");
        if is_working_day(d) {
            days += 1;
        }
    }
    days
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn listed(year: i32) -> Vec<String> {
        bank_holidays(year).iter().map(|d| d.to_string()).collect()
    }

    #[test]
    fn the_published_bank_holidays_of_england_and_wales() {
        // GOV.UK's list for England and Wales.
        assert_eq!(
            listed(2025),
            [
                "2025-01-01",
                "2025-04-18",
                "2025-04-21",
                "2025-05-05",
                "2025-05-26",
                "2025-08-25",
                "2025-12-25",
                "2025-12-26"
            ]
        );
        assert_eq!(
            listed(2026),
            [
                "2026-01-01",
                "2026-04-03",
                "2026-04-06",
                "2026-05-04",
                "2026-05-25",
                "2026-08-31",
                "2026-12-25",
                "2026-12-28"
            ]
        );
        assert_eq!(
            listed(2027),
            [
                "2027-01-01",
                "2027-03-26",
                "2027-03-29",
                "2027-05-03",
                "2027-05-31",
                "2027-08-30",
                "2027-12-27",
                "2027-12-28"
            ]
        );
        assert_eq!(
            listed(2022),
            [
                "2022-01-03",
                "2022-04-15",
                "2022-04-18",
                "2022-05-02",
                "2022-06-02",
                "2022-06-03",
                "2022-08-29",
                "2022-09-19",
                "2022-12-26",
                "2022-12-27"
            ]
        );
        assert_eq!(listed(2023)[3..5], ["2023-05-01", "2023-05-08"]);
        assert_eq!(listed(2020)[3], "2020-05-08");
    }

    #[test]
    fn working_days_skip_weekends_and_bank_holidays() {
        // Friday 2026-10-02 → Wednesday 2026-10-07: Monday, Tuesday, Wednesday.
        assert_eq!(
            working_days_between(date!(2026 - 10 - 02), date!(2026 - 10 - 07)),
            3
        );
        assert_eq!(
            working_days_between(date!(2026 - 10 - 02), date!(2026 - 10 - 02)),
            0
        );
        // Thursday before Easter 2026 → the Thursday after: Good Friday and Easter Monday off.
        assert_eq!(
            working_days_between(date!(2026 - 04 - 02), date!(2026 - 04 - 09)),
            3
        );
        // Christmas Eve 2026 (Thursday) → 31 December: the 25th and the 28th are bank holidays.
        assert_eq!(
            working_days_between(date!(2026 - 12 - 24), date!(2026 - 12 - 31)),
            3
        );
        assert!(!is_working_day(date!(2026 - 08 - 31)));
        assert!(is_working_day(date!(2026 - 09 - 01)));
    }
}
