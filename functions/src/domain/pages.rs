//! Pages of the points read models: which user rows (and which of their awards) one answer
//! holds, and the cursor of the next answer. Pure: the handlers feed it what they read, task
//! by task in order, and stop reading once it says the page is full.
//!
//! A page holds at most `rows` user rows and at most `bytes` of award entries (their JSON as
//! sent), so no answer grows past a documented bound however big the game. A user whose awards
//! alone exceed the byte bound continues on the next page: the row repeats with the same totals
//! and the rest of its awards.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

/// Where the next page starts: in task `task`, at its first user (`user` None), after `user`,
/// or (with `after_award`) at `user` again, after that award.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(rename = "t")]
    pub task: String,
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub after_award: Option<String>,
}

/// Longest cursor accepted (a task id, a user id and an award id fit in a few hundred).
const MAX_CURSOR_CHARS: usize = 1024;

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// The cursor a `nextToken` carries, or None for anything this module did not issue (the
    /// handler still checks that its ids are ids and its task one of the game's).
    pub fn decode(token: &str) -> Option<Cursor> {
        if token.len() > MAX_CURSOR_CHARS {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
        let cursor: Cursor = serde_json::from_slice(&bytes).ok()?;
        let award_ok = cursor.after_award.as_deref().is_none_or(|a| {
            !a.is_empty()
                && a.len() <= 64
                && a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
        (award_ok && (cursor.user.is_some() || cursor.after_award.is_none())).then_some(cursor)
    }
}

/// One award as read, with its id (to resume after it) and its size in the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Sized<A> {
    pub id: String,
    pub bytes: usize,
    pub value: A,
}

/// One user's row on a task: the total, the awards read for it, and whether those are all of
/// them (from where the row started).
#[derive(Debug, Clone, PartialEq)]
pub struct Row<T, A> {
    pub user: String,
    pub total: T,
    pub awards: Vec<Sized<A>>,
    pub complete: bool,
}

/// How much of a page is left; feed it the tasks in order with [`Page::take`].
#[derive(Debug, Clone)]
pub struct Page {
    rows_left: usize,
    bytes_left: usize,
    rows_taken: usize,
    full: bool,
}

impl Page {
    pub fn new(rows: usize, bytes: usize) -> Self {
        Page {
            rows_left: rows.max(1),
            bytes_left: bytes,
            rows_taken: 0,
            full: false,
        }
    }

    /// True once a cursor was issued: read no further tasks.
    pub fn is_full(&self) -> bool {
        self.full
    }

    /// Takes from one task's rows (read from the position the page is at) what fits. `more`
    /// says the task has rows after these. Returns the rows for the answer, and the cursor
    /// when the page ends inside this task.
    pub fn take<T, A>(
        &mut self,
        task: &str,
        rows: Vec<Row<T, A>>,
        more: bool,
    ) -> (Vec<Row<T, A>>, Option<Cursor>) {
        let mut out: Vec<Row<T, A>> = Vec::new();
        let cursor_after = |out: &Vec<Row<T, A>>| Cursor {
            task: task.to_owned(),
            user: out.last().map(|r: &Row<T, A>| r.user.clone()),
            after_award: None,
        };
        for row in rows {
            if self.rows_left == 0 {
                self.full = true;
                let cursor = cursor_after(&out);
                return (out, Some(cursor));
            }
            let first_on_page = self.rows_taken == 0;
            let mut taken = Vec::new();
            let mut cut = false;
            for award in row.awards {
                // The first award of a page always fits, so every page makes progress.
                if award.bytes > self.bytes_left && !(first_on_page && taken.is_empty()) {
                    cut = true;
                    break;
                }
                self.bytes_left = self.bytes_left.saturating_sub(award.bytes);
                taken.push(award);
            }
            let partial = cut || !row.complete;
            if partial && taken.is_empty() {
                self.full = true;
                let cursor = cursor_after(&out);
                return (out, Some(cursor));
            }
            self.rows_left -= 1;
            self.rows_taken += 1;
            let resume = taken.last().map(|a| a.id.clone());
            let user = row.user.clone();
            out.push(Row {
                awards: taken,
                complete: !partial,
                ..row
            });
            if partial {
                self.full = true;
                let cursor = Cursor {
                    task: task.to_owned(),
                    user: Some(user),
                    after_award: resume,
                };
                return (out, Some(cursor));
            }
        }
        if more {
            self.full = true;
            let cursor = cursor_after(&out);
            return (out, Some(cursor));
        }
        (out, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(user: &str, awards: &[(&str, usize)], complete: bool) -> Row<(), ()> {
        Row {
            user: user.into(),
            total: (),
            awards: awards
                .iter()
                .map(|(id, bytes)| Sized {
                    id: (*id).into(),
                    bytes: *bytes,
                    value: (),
                })
                .collect(),
            complete,
        }
    }

    fn users<T, A>(rows: &[Row<T, A>]) -> Vec<&str> {
        rows.iter().map(|r| r.user.as_str()).collect()
    }

    fn cursor(task: &str, user: Option<&str>, after: Option<&str>) -> Cursor {
        Cursor {
            task: task.into(),
            user: user.map(Into::into),
            after_award: after.map(Into::into),
        }
    }

    #[test]
    fn the_row_bound_ends_the_page_after_the_last_row_that_fits() {
        let mut page = Page::new(3, usize::MAX);
        let (a, c) = page.take(
            "t1",
            vec![row("ana", &[], true), row("bob", &[], true)],
            false,
        );
        assert_eq!((users(&a), c), (vec!["ana", "bob"], None));
        assert!(!page.is_full());
        let (b, c) = page.take(
            "t2",
            vec![row("cid", &[], true), row("dan", &[], true)],
            false,
        );
        assert_eq!(users(&b), ["cid"]);
        assert_eq!(c, Some(cursor("t2", Some("cid"), None)));
        assert!(page.is_full());
    }

    #[test]
    fn a_task_with_more_rows_than_read_ends_the_page_there() {
        let mut page = Page::new(10, usize::MAX);
        let (a, c) = page.take("t1", vec![row("ana", &[], true)], true);
        assert_eq!(users(&a), ["ana"]);
        assert_eq!(c, Some(cursor("t1", Some("ana"), None)));
    }

    #[test]
    fn a_page_full_at_a_task_boundary_starts_the_next_task_at_its_first_user() {
        let mut page = Page::new(1, usize::MAX);
        let (_, c) = page.take("t1", vec![row("ana", &[], true)], false);
        assert_eq!(c, None);
        let (b, c) = page.take("t2", vec![row("bob", &[], true)], false);
        assert!(b.is_empty());
        assert_eq!(c, Some(cursor("t2", None, None)));
    }

    #[test]
    fn the_byte_bound_stops_before_a_row_that_does_not_fit() {
        let mut page = Page::new(10, 100);
        let rows = vec![
            row("ana", &[("a1", 60)], true),
            row("bob", &[("b1", 60)], true),
        ];
        let (a, c) = page.take("t1", rows, false);
        assert_eq!(users(&a), ["ana"]);
        assert_eq!(c, Some(cursor("t1", Some("ana"), None)));
    }

    #[test]
    fn a_user_bigger_than_a_page_continues_on_the_next_page() {
        let mut page = Page::new(10, 100);
        let rows = vec![row("ana", &[("a1", 60), ("a2", 60), ("a3", 10)], true)];
        let (a, c) = page.take("t1", rows, false);
        assert_eq!(a[0].awards.len(), 1);
        assert!(!a[0].complete);
        assert_eq!(c, Some(cursor("t1", Some("ana"), Some("a1"))));
        // The first award of a page always fits, even one over the bound.
        let mut page = Page::new(10, 100);
        let (a, c) = page.take(
            "t1",
            vec![row("ana", &[("a2", 500), ("a3", 1)], true)],
            false,
        );
        assert_eq!(a[0].awards.len(), 1);
        assert_eq!(c, Some(cursor("t1", Some("ana"), Some("a2"))));
    }

    #[test]
    fn an_incomplete_read_resumes_after_the_last_award_read() {
        let mut page = Page::new(10, 1000);
        let rows = vec![
            row("ana", &[("a1", 1)], true),
            row("bob", &[("b1", 1)], false),
        ];
        let (a, c) = page.take("t1", rows, true);
        assert_eq!(users(&a), ["ana", "bob"]);
        assert_eq!(c, Some(cursor("t1", Some("bob"), Some("b1"))));
    }

    #[test]
    fn cursors_round_trip_and_reject_what_they_did_not_issue() {
        for c in [
            cursor("t1", None, None),
            cursor("t1", Some("ana"), None),
            cursor("t1", Some("ana"), Some("0193a0c5-0a1b")),
        ] {
            assert_eq!(Cursor::decode(&c.encode()), Some(c));
        }
        assert_eq!(Cursor::decode("not base64!"), None);
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode(b"{}")), None);
        assert_eq!(Cursor::decode(&cursor("t", None, Some("a")).encode()), None);
        assert_eq!(
            Cursor::decode(&cursor("t", Some("u"), Some("a#b")).encode()),
            None
        );
        assert_eq!(Cursor::decode(&"A".repeat(2000)), None);
    }
}
