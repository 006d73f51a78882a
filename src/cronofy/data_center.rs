//! Cronofy's data centers: each keeps its accounts, tokens and identifiers,
//! and has its own API and app hosts.

use std::fmt;
use std::str::FromStr;

use super::spec::API;
use crate::Error;

/// A Cronofy data center. The hosts come from the spec's
/// `x-specbound-hosts`.
///
/// ```
/// use specbound::cronofy::DataCenter;
/// let de: DataCenter = "de".parse()?;
/// assert_eq!(de.api_url(), "https://api-de.cronofy.com");
/// assert_eq!(de.app_url(), "https://app-de.cronofy.com");
/// assert!("mars".parse::<DataCenter>().is_err());
/// # Ok::<(), specbound::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DataCenter {
    /// United States (the default): api.cronofy.com.
    #[default]
    Us,
    /// Australia.
    Au,
    /// Canada.
    Ca,
    /// Germany.
    De,
    /// Singapore.
    Sg,
    /// United Kingdom.
    Uk,
}

impl DataCenter {
    /// Every data center.
    pub const ALL: [DataCenter; 6] = [Self::Us, Self::Au, Self::Ca, Self::De, Self::Sg, Self::Uk];

    /// Cronofy's id for it: `us`, `au`, `ca`, `de`, `sg`, `uk`.
    pub fn id(self) -> &'static str {
        match self {
            Self::Us => "us",
            Self::Au => "au",
            Self::Ca => "ca",
            Self::De => "de",
            Self::Sg => "sg",
            Self::Uk => "uk",
        }
    }

    /// Root of the API host (token endpoints and `/v1` calls).
    pub fn api_url(self) -> &'static str {
        // Every variant is in the spec (tested).
        API.host(self.id(), "api").unwrap_or_default()
    }

    /// Root of the app host (authorization pages).
    pub fn app_url(self) -> &'static str {
        API.host(self.id(), "app").unwrap_or_default()
    }
}

impl FromStr for DataCenter {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let wanted = s.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|dc| dc.id() == wanted)
            .ok_or_else(|| {
                let known: Vec<&str> = Self::ALL.iter().map(|d| d.id()).collect();
                Error::invalid(
                    "data_center",
                    format!(
                        "`{s}` is not a Cronofy data center; known: {}",
                        known.join(", ")
                    ),
                )
            })
    }
}

impl fmt::Display for DataCenter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_is_in_the_spec_and_every_spec_entry_has_a_variant() {
        for dc in DataCenter::ALL {
            assert!(
                dc.api_url().starts_with("https://api"),
                "{dc} missing from x-specbound-hosts"
            );
            assert!(
                dc.app_url().starts_with("https://app"),
                "{dc} missing from x-specbound-hosts"
            );
        }
        for id in API.host_names() {
            assert!(id.parse::<DataCenter>().is_ok(), "no variant for {id}");
        }
        assert_eq!(DataCenter::Us.api_url(), "https://api.cronofy.com");
        assert_eq!(
            "UK".parse::<DataCenter>().unwrap().app_url(),
            "https://app-uk.cronofy.com"
        );
    }
}
