//! Keyset paging by row id, newest first, for the lists kept in id order (notifications, a
//! group's moderation log and reports, a person's posts): a page ends with its last row's id,
//! and the next page starts below it. Never OFFSET, so a page deep in a long list costs what
//! the first does. (Threads, sorted by time or score, have their own cursors:
//! `groups::thread_lists`.)

use crate::error::{Error, Result};

/// Rows a page shows unless asked otherwise.
pub const PER_PAGE: u64 = 50;

/// The id a page starts below, from the cursor a previous page gave (`None`: the first page).
pub fn parse_id_cursor(text: Option<&str>) -> Result<Option<i64>> {
    text.map(|text| {
        text.parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| Error::bad_request("the cursor is not one this server gave"))
    })
    .transpose()
}

/// Cuts `rows` (fetched with `limit + 1`) to `limit`, and gives the next page's cursor when
/// there was more.
pub fn page_by_id<T>(
    mut rows: Vec<T>,
    limit: u64,
    id_of: impl Fn(&T) -> i64,
) -> (Vec<T>, Option<String>) {
    if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        let next = rows.last().map(|last| id_of(last).to_string());
        (rows, next)
    } else {
        (rows, None)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_page_ends_with_its_last_id_and_cursors_are_only_ids() {
        assert_eq!(
            page_by_id(vec![9, 8, 7], 2, |id| *id),
            (vec![9, 8], Some("8".into()))
        );
        assert_eq!(page_by_id(vec![9, 8], 2, |id| *id), (vec![9, 8], None));
        assert_eq!(parse_id_cursor(Some("42")).unwrap(), Some(42));
        assert_eq!(parse_id_cursor(None).unwrap(), None);
        for hostile in ["", "-1", "0", "1.5", "x", "99999999999999999999"] {
            assert!(parse_id_cursor(Some(hostile)).is_err(), "{hostile:?}");
        }
    }
}
