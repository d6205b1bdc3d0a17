//! Timestamps in Marathon's ISO-8601 form, as `Timestamp`'s `Display` prints them, without
//! chrono's format-string parsing: a task list writes three per task.

use crate::state::time::Timestamp;
use serde::{Serialize, Serializer};

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`
const LEN: usize = 24;
const MILLIS_PER_DAY: i64 = 86_400_000;

/// A timestamp serialized as Marathon's ISO-8601 string.
#[derive(Clone, Copy, Debug)]
pub struct Iso(pub Timestamp);

impl Serialize for Iso {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0; LEN];
        match format(self.0, &mut buf) {
            Some(text) => serializer.serialize_str(text),
            // Years outside 0000–9999 (signed, or invalid) are chrono's to print.
            None => serializer.collect_str(&self.0),
        }
    }
}

/// The ISO form of `t` in `buf`, for years 0000 to 9999 (`None` outside them).
fn format(t: Timestamp, buf: &mut [u8; LEN]) -> Option<&str> {
    let days = t.0.div_euclid(MILLIS_PER_DAY);
    let in_day = t.0.rem_euclid(MILLIS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return None;
    }
    let (seconds, millis) = (in_day / 1000, in_day % 1000);
    let fields: [(usize, i64, usize); 7] = [
        (0, year, 4),
        (5, month, 2),
        (8, day, 2),
        (11, seconds / 3600, 2),
        (14, seconds / 60 % 60, 2),
        (17, seconds % 60, 2),
        (20, millis, 3),
    ];
    for (at, mut value, width) in fields {
        for i in (at..at + width).rev() {
            buf[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
    for (at, byte) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
    ] {
        buf[at] = byte;
    }
    buf[23] = b'Z';
    std::str::from_utf8(buf).ok()
}

/// The proleptic Gregorian (year, month, day) of a day count since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`: eras of 400 years, years starting in March).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let march_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * march_month + 2) / 5 + 1;
    let month = if march_month < 10 {
        march_month + 3
    } else {
        march_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(t: i64) -> String {
        serde_json::to_value(Iso(Timestamp(t)))
            .expect("a string")
            .as_str()
            .expect("a string")
            .to_string()
    }

    #[test]
    fn prints_what_display_prints() {
        let mut samples = vec![
            0,
            -1,
            1,
            999,
            1_443_541_191_164,
            951_782_400_000,     // 2000-02-29
            4_107_542_399_999,   // 2100-02-28T23:59:59.999
            -62_167_219_200_000, // 0000-01-01
            -62_167_219_200_001, // -0001-12-31: chrono's
            253_402_300_799_999, // 9999-12-31T23:59:59.999
            253_402_300_800_000, // +10000-01-01: chrono's
            i64::MAX,            // invalid: chrono's
            i64::MIN,
        ];
        // A spread over the representable years, odd millisecond offsets included.
        let mut t: i64 = -70_000_000_000_000;
        while t < 260_000_000_000_000 {
            samples.push(t);
            t += 3_299_999_977;
        }
        for t in samples {
            assert_eq!(served(t), Timestamp(t).to_string(), "{t}");
        }
    }
}
