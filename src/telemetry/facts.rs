//! What a handler learns about a request that its response does not show: the authenticated
//! client and, on a refusal, a fixed reason. Kept in a task-local set of facts that the observe
//! layer (`http::observe`) opens around each request and reads when it completes, so the
//! signing core (through the metrics' `IssuanceObserver`) and the adapters can tell it without
//! knowing it. Outside a request, noting a fact does nothing.

use std::cell::RefCell;
use std::future::Future;

tokio::task_local! {
    static FACTS: RefCell<Facts>;
}

/// What the handler learnt about a request that its response does not show.
#[derive(Debug, Default)]
pub struct Facts {
    /// The authenticated client (the first one noted).
    pub client_id: Option<String>,
    /// Why the request was refused (the first reason noted), one of a fixed set.
    pub refusal: Option<&'static str>,
    /// An existing client named by a request that failed to authenticate as it (a wrong secret),
    /// for its usage report; never logged as the request's client.
    pub named_client: Option<String>,
}

/// Records the authenticated client of the current request (the first one noted counts).
pub fn note_client(client_id: &str) {
    let _ = FACTS.try_with(|facts| {
        let mut facts = facts.borrow_mut();
        if facts.client_id.is_none() {
            facts.client_id = Some(client_id.to_owned());
        }
    });
}

/// Records an existing client that the current request named but failed to authenticate as.
pub fn note_named_client(client_id: &str) {
    let _ = FACTS.try_with(|facts| {
        let mut facts = facts.borrow_mut();
        if facts.named_client.is_none() {
            facts.named_client = Some(client_id.to_owned());
        }
    });
}

/// Records why the current request was refused (the first reason noted counts, so an adapter
/// may note a finer one before its error is rendered). `reason` is one of a fixed set.
pub fn note_refusal(reason: &'static str) {
    let _ = FACTS.try_with(|facts| {
        facts.borrow_mut().refusal.get_or_insert(reason);
    });
}

/// Runs `request` with a fresh set of facts and returns its output with what was noted.
pub async fn gather<F: Future>(request: F) -> (F::Output, Facts) {
    let handled = FACTS.scope(RefCell::default(), request);
    let mut handled = std::pin::pin!(handled);
    let output = handled.as_mut().await;
    let facts = handled
        .take_value()
        .map(RefCell::into_inner)
        .unwrap_or_default();
    (output, facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_first_noted_facts_count_and_none_leak_outside_a_request() {
        note_client("outside");
        let facts = FACTS
            .scope(RefCell::default(), async {
                note_refusal("replayed");
                note_refusal("invalid_request");
                note_client("c1");
                note_client("c2");
                FACTS.with(|f| (f.borrow().refusal, f.borrow().client_id.clone()))
            })
            .await;
        assert_eq!(facts, (Some("replayed"), Some("c1".to_owned())));
    }
}
