//! Cronofy's data centers: each keeps its accounts, tokens and identifiers,
//! and has its own API and app hosts.

use std::fmt;
use std::str::FromStr;

use super::spec::DATA_CENTERS;
use crate::Error;

/// A Cronofy data center. The hosts come from the spec's
/// `x-specbound-data-centers`.
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

    fn hosts(self) -> (&'static str, &'static str) {
        DATA_CENTERS
            .iter()
            .find(|(id, _, _)| *id == self.id())
            .map(|(_, api, app)| (*api, *app))
            // Every variant is in the spec (tested); this is the documented pattern.
            .unwrap_or(("https://api.cronofy.com", "https://app.cronofy.com"))
    }

    /// Root of the API host (token endpoints and `/v1` calls).
    pub fn api_url(self) -> &'static str {
        self.hosts().0
    }

    /// Root of the app host (authorization pages).
    pub fn app_url(self) -> &'static str {
        self.hosts().1
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
            let entry = DATA_CENTERS.iter().find(|(id, _, _)| *id == dc.id());
            let (_, api, app) =
                entry.unwrap_or_else(|| panic!("{dc} missing from x-specbound-data-centers"));
            assert_eq!((dc.api_url(), dc.app_url()), (*api, *app));
        }
        for (id, _, _) in DATA_CENTERS {
            assert!(id.parse::<DataCenter>().is_ok(), "no variant for {id}");
        }
        assert_eq!(DataCenter::Us.api_url(), "https://api.cronofy.com");
        assert_eq!(
            "UK".parse::<DataCenter>().unwrap().app_url(),
            "https://app-uk.cronofy.com"
        );
    }
}
