//! Modification times as Info-ZIP's unzip reads them (`ef_scan_for_izux` in its
//! `extract.c`): the extended-timestamp extra field ("UT", 0x5455) when it has one, else the
//! NTFS extra field (0x000a, which 7-Zip and Windows archivers write), else the DOS date and
//! time. The extra fields are UTC, to the second; the DOS time carries no zone and is read
//! as UTC too (README, "Zip archives").

use crate::civil::{civil_from_days, days_from_civil};

const EXTENDED_TIMESTAMP: u16 = 0x5455;
const NTFS: u16 = 0x000a;
/// Seconds from 1601-01-01 (NTFS's epoch) to 1970-01-01.
const NTFS_TO_UNIX: i64 = 11_644_473_600;
/// 2038-01-18 as a DOS date (the date in the high 16 bits, the time in the low): unzip takes a
/// "UT" time with bit 31 set as after 2038 only when the DOS time agrees.
const DOS_2038_01_18: u32 = ((2038 - 1980) << 25) | (1 << 21) | (18 << 16);

/// The modification time an extra field gives, in seconds since 1970 (UTC), if any: the last
/// valid "UT" field's, else the last NTFS field's. `dos` is the DOS date and time (date high),
/// which settles whether a "UT" time with bit 31 set is before 1970 or after 2038. The
/// fields are walked within `extra`'s bounds: a field claiming more than is left ends the
/// walk, as in unzip.
pub fn extra_field_time(extra: &[u8], dos: u32) -> Option<i64> {
    let mut unix = None;
    let mut ntfs = None;
    let mut rest = extra;
    while rest.len() >= 4 {
        let id = u16::from_le_bytes([rest[0], rest[1]]);
        let len = usize::from(u16::from_le_bytes([rest[2], rest[3]]));
        let Some(data) = rest.get(4..4 + len) else {
            break;
        };
        rest = &rest[4 + len..];
        match id {
            EXTENDED_TIMESTAMP => unix = extended_timestamp(data, dos),
            NTFS => ntfs = ntfs_time(data).or(ntfs),
            _ => {}
        }
    }
    unix.or(ntfs)
}

/// The modification time of a "UT" field: flags, then (bit 0) a 32-bit time. A time with bit
/// 31 set counts only with a DOS time from 2038-01-18 on (unzip with a 64-bit `time_t`).
fn extended_timestamp(data: &[u8], dos: u32) -> Option<i64> {
    let flags = *data.first()?;
    if flags & 1 == 0 {
        return None;
    }
    let time = u32::from_le_bytes(data.get(1..5)?.try_into().ok()?);
    if time & 0x8000_0000 != 0 && dos < DOS_2038_01_18 {
        return None;
    }
    Some(i64::from(time))
}

/// The modification time of an NTFS field: 4 reserved bytes, then attributes (tag, size);
/// attribute 1, of 24 bytes, holds the modification, access and creation times in 100 ns
/// since 1601.
fn ntfs_time(data: &[u8]) -> Option<i64> {
    let mut rest = data.get(4..)?;
    while rest.len() >= 4 {
        let tag = u16::from_le_bytes([rest[0], rest[1]]);
        let size = usize::from(u16::from_le_bytes([rest[2], rest[3]]));
        let value = rest.get(4..4 + size)?;
        if tag == 1 && size >= 8 {
            let ticks = u64::from_le_bytes(value[..8].try_into().ok()?);
            // At most 2^64 / 10^7 seconds: no overflow.
            return Some((ticks / 10_000_000) as i64 - NTFS_TO_UNIX);
        }
        rest = &rest[4 + size..];
    }
    None
}

/// `seconds` since 1970 as `YYYY-MM-DDTHH:MM:SS` (UTC), as `ls` shows times.
pub fn format(seconds: i64) -> String {
    let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    let (hour, minute, second) = (
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
    );
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}")
}

/// `YYYY-MM-DDTHH:MM:SS` (UTC) as seconds since 1970; `None` for anything else.
pub fn parse(text: &str) -> Option<i64> {
    let number = |range: std::ops::Range<usize>| -> Option<i64> { text.get(range)?.parse().ok() };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(id: u16, data: &[u8]) -> Vec<u8> {
        let mut out = id.to_le_bytes().to_vec();
        out.extend_from_slice(&(data.len() as u16).to_le_bytes());
        out.extend_from_slice(data);
        out
    }

    fn ut(flags: u8, time: u32) -> Vec<u8> {
        let mut data = vec![flags];
        data.extend_from_slice(&time.to_le_bytes());
        field(EXTENDED_TIMESTAMP, &data)
    }

    fn ntfs(unix: i64) -> Vec<u8> {
        let ticks = ((unix + NTFS_TO_UNIX) * 10_000_000 + 1234) as u64;
        let mut data = vec![0; 4];
        data.extend_from_slice(&1u16.to_le_bytes());
        data.extend_from_slice(&24u16.to_le_bytes());
        for _ in 0..3 {
            data.extend_from_slice(&ticks.to_le_bytes());
        }
        field(NTFS, &data)
    }

    const DOS_2024: u32 = (44 << 25) | (5 << 21) | (17 << 16);

    #[test]
    fn extended_timestamps_come_first_then_ntfs() {
        assert_eq!(
            extra_field_time(&ut(1, 1_715_953_531), DOS_2024),
            Some(1_715_953_531)
        );
        assert_eq!(
            extra_field_time(&ntfs(1_715_953_533), DOS_2024),
            Some(1_715_953_533)
        );
        let both = [ntfs(7), ut(3, 9)].concat();
        assert_eq!(extra_field_time(&both, DOS_2024), Some(9));
        // No modification time in the "UT" field: the NTFS one.
        let both = [ut(2, 9), ntfs(7)].concat();
        assert_eq!(extra_field_time(&both, DOS_2024), Some(7));
        assert_eq!(
            extra_field_time(&field(0x7875, &[1, 4, 0, 0, 0, 0]), 0),
            None
        );
        assert_eq!(extra_field_time(b"", 0), None);
    }

    #[test]
    fn a_high_time_counts_only_with_a_dos_time_past_2038() {
        assert_eq!(extra_field_time(&ut(1, 0x8000_0000), DOS_2024), None);
        let dos_2040 = (60 << 25) | (1 << 21) | (1 << 16);
        assert_eq!(
            extra_field_time(&ut(1, 0x8000_0000), dos_2040),
            Some(0x8000_0000)
        );
    }

    #[test]
    fn truncated_or_lying_fields_give_nothing_and_never_panic() {
        let good = [ut(1, 5), ntfs(6)].concat();
        for cut in 0..good.len() {
            let _ = extra_field_time(&good[..cut], 0);
        }
        // A length past the end stops the walk.
        let lying = [field(0x0001, &[0; 3])[..2].to_vec(), vec![0xff, 0xff]].concat();
        assert_eq!(extra_field_time(&lying, 0), None);
        let mut short_ntfs = field(NTFS, &[0, 0, 0, 0, 1, 0, 0xff, 0xff, 1]);
        assert_eq!(extra_field_time(&short_ntfs, 0), None);
        short_ntfs = field(NTFS, &[0, 0, 0, 0, 1, 0, 4, 0, 1, 2, 3, 4]);
        assert_eq!(extra_field_time(&short_ntfs, 0), None);
        assert_eq!(extra_field_time(&field(NTFS, &[0; 3]), 0), None);
        assert_eq!(extra_field_time(&ut(1, 5)[..7], 0), None);
        // Every byte string of up to 3 bytes, and random ones.
        for a in 0..=255u8 {
            for b in [0u8, 1, 4, 0x0a, 0x54, 0x55, 0xff] {
                let _ = extra_field_time(&[a, b, a], 0);
                let _ = extra_field_time(&[0x0a, 0, a, b, 0, 0, 0, 0, 1, 0, a, 0], 0);
            }
        }
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let len = (state % 64) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    [0x55, 0x54, 0x0a, 0, 1, 24, (state >> 8) as u8][(state % 7) as usize]
                })
                .collect();
            let _ = extra_field_time(&bytes, (state >> 32) as u32);
        }
    }

    #[test]
    fn times_format_and_parse_back() {
        for seconds in [0, 1_715_953_531, 315_532_800, -1, 4_102_444_799] {
            assert_eq!(parse(&format(seconds)), Some(seconds), "{seconds}");
        }
        assert_eq!(format(1_715_953_531), "2024-05-17T13:45:31");
        assert_eq!(parse("2024-05-17 13:45"), None);
    }
}
