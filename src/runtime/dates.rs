//! Dates given as [`NaiveDate`] or as `yyyy-mm-dd` text.

use chrono::NaiveDate;

use crate::{Error, Result};

/// A date given as [`NaiveDate`] or as `yyyy-mm-dd` text; text that is not
/// a real date in that form is an [`Error::Invalid`] naming the field.
pub trait IntoDate {
    /// The date, or [`Error::Invalid`] naming `field`.
    fn into_date(self, field: &str) -> Result<NaiveDate>;
}

impl IntoDate for NaiveDate {
    fn into_date(self, _: &str) -> Result<NaiveDate> {
        Ok(self)
    }
}

impl IntoDate for &str {
    fn into_date(self, field: &str) -> Result<NaiveDate> {
        let well_formed = self.len() == 10
            && self.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        well_formed
            .then(|| NaiveDate::parse_from_str(self, "%Y-%m-%d").ok())
            .flatten()
            .ok_or_else(|| {
                Error::invalid(
                    field,
                    format!("`{self}` is not a date in the form yyyy-mm-dd"),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_real_dates_in_the_form_yyyy_mm_dd() {
        assert_eq!(
            "2015-04-20".into_date("start").unwrap(),
            NaiveDate::from_ymd_opt(2015, 4, 20).unwrap()
        );
        for bad in [
            "2015-4-20",
            "20150420",
            "2015-02-30",
            "2015-04-20T00:00:00",
            "",
        ] {
            assert!(
                matches!(bad.into_date("start"), Err(Error::Invalid { field, .. }) if field == "start"),
                "{bad}"
            );
        }
    }
}
