//! Whether an object version still needs loading, given what was loaded before for
//! the same key. Pure, so every ordering case is tested without a database.

use std::cmp::Ordering;

use zipster_core::event::sequencer_cmp;

/// A previous successful load of the same bucket and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorLoad {
    pub etag: String,
    pub sequencer: Option<String>,
    /// The hash of the contract it was loaded under; `None` for loads recorded before
    /// contracts were (the zip code rules, which the contract reproduces exactly).
    pub contract: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Load,
    /// The key's latest load had this very content, under this very contract.
    AlreadyLoaded,
    /// A later write of the key (this sequencer) is already loaded; loading this
    /// older one would put stale rows back.
    Superseded {
        by: String,
    },
}

/// `history` is newest first. Sequencers only order writes when both sides have one
/// (a seed loaded by hand has none), so a version without one is never superseded.
/// The same content under another contract loads again: a rule changed, and the rows
/// it writes may differ (`cargo xtask reprocess` after a contract change).
pub fn decide(history: &[PriorLoad], etag: &str, contract: &str, sequencer: Option<&str>) -> Decision {
    if let Some(ours) = sequencer {
        let later = history
            .iter()
            .filter_map(|prior| prior.sequencer.as_deref())
            .filter(|theirs| sequencer_cmp(theirs, ours) == Ordering::Greater)
            .max_by(|a, b| sequencer_cmp(a, b));
        if let Some(by) = later {
            return Decision::Superseded { by: by.to_owned() };
        }
    }
    // Only the newest load counts: after A, B, A again the table holds B's rows, so the
    // second A must be loaded even though A was loaded once.
    match history.first() {
        Some(newest) if newest.etag == etag && newest.contract.as_deref().is_none_or(|c| c == contract) => {
            Decision::AlreadyLoaded
        }
        _ => Decision::Load,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const CONTRACT: &str = "c0";

    fn prior(etag: &str, sequencer: Option<&str>) -> PriorLoad {
        PriorLoad {
            etag: etag.to_owned(),
            sequencer: sequencer.map(str::to_owned),
            contract: Some(CONTRACT.to_owned()),
        }
    }

    #[test]
    fn first_load_loads() {
        assert_eq!(decide(&[], "a", CONTRACT, Some("0055AED6DCD90281E5")), Decision::Load);
        assert_eq!(decide(&[], "a", CONTRACT, None), Decision::Load);
    }

    #[test]
    fn same_content_again_is_already_loaded() {
        let history = [prior("a", Some("0055AED6DCD90281E5"))];
        assert_eq!(decide(&history, "a", CONTRACT, Some("0055AED6DCD90281E5")), Decision::AlreadyLoaded);
        assert_eq!(decide(&history, "a", CONTRACT, None), Decision::AlreadyLoaded);
    }

    #[test]
    fn a_newer_version_loads() {
        let history = [prior("a", Some("0055AED6DCD90281E5"))];
        assert_eq!(decide(&history, "b", CONTRACT, Some("0055AED6DCD90281E6")), Decision::Load);
    }

    #[test]
    fn an_older_version_is_superseded_by_the_latest_sequencer() {
        let history = [prior("c", Some("0055AED6DCD90281F0")), prior("b", Some("0055AED6DCD90281E6"))];
        assert_eq!(
            decide(&history, "a", CONTRACT, Some("0055AED6DCD90281E5")),
            Decision::Superseded { by: "0055AED6DCD90281F0".to_owned() }
        );
        // Shorter sequencers compare as if right-padded with zeros.
        assert_eq!(
            decide(&[prior("b", Some("0056"))], "a", CONTRACT, Some("0055AED6DCD90281E5")),
            Decision::Superseded { by: "0056".to_owned() }
        );
    }

    #[test]
    fn the_same_content_under_another_contract_loads_again_once() {
        let history = [prior("a", Some("01"))];
        assert_eq!(decide(&history, "a", "c1", Some("02")), Decision::Load);
        let reloaded =
            [PriorLoad { contract: Some("c1".to_owned()), ..prior("a", Some("02")) }, prior("a", Some("01"))];
        assert_eq!(decide(&reloaded, "a", "c1", Some("03")), Decision::AlreadyLoaded);
        let before_contracts = [PriorLoad { contract: None, ..prior("a", Some("01")) }];
        assert_eq!(
            decide(&before_contracts, "a", "c1", Some("02")),
            Decision::AlreadyLoaded,
            "recorded before contracts were"
        );
    }

    #[test]
    fn content_seen_before_but_overwritten_since_loads_again() {
        let history = [prior("b", Some("0000000000000002")), prior("a", Some("0000000000000001"))];
        assert_eq!(decide(&history, "a", CONTRACT, Some("0000000000000003")), Decision::Load);
    }
}
