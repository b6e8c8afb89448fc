//! Filters by client, scheme and issue time, and what an item shows.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::{
    expected, issue_mix, jtis, report, rfc3339, via_token_create, DECLARED_IP, ITEM_FIELDS,
};
use crate::helpers::TestApp;
use crate::on_both_backends;

async fn filters_by_client_scheme_and_issue_time(app: TestApp) {
    let (a, b, all) = issue_mix(&app).await;
    let t1 = all[3].issued_at;
    let t2 = all[5].issued_at;
    assert_eq!(jtis(&app, &[]).await, expected(&all, |_| true));
    assert_eq!(
        jtis(&app, &[("client_id", &a.id)]).await,
        expected(&all, |i| i.client_id == a.id)
    );
    assert_eq!(
        jtis(&app, &[("scheme", "token_create")]).await,
        expected(&all, |i| i.scheme == "token_create")
    );
    assert_eq!(
        jtis(&app, &[("client_id", &b.id), ("scheme", "auth_jwt")]).await,
        expected(&all, |i| i.client_id == b.id && i.scheme == "auth_jwt")
    );
    // since is inclusive, until exclusive: exactly the tokens of the middle second.
    let middle = [("since", rfc3339(t1)), ("until", rfc3339(t2))];
    let middle: Vec<(&str, &str)> = middle.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let expected_middle = expected(&all, |i| i.issued_at >= t1 && i.issued_at < t2);
    assert_eq!(expected_middle.len(), 2);
    assert_eq!(jtis(&app, &middle).await, expected_middle);
    let since = rfc3339(t2);
    assert_eq!(
        jtis(&app, &[("since", &since)]).await,
        expected(&all, |i| i.issued_at >= t2)
    );
    assert!(jtis(&app, &[("since", &since), ("until", &since)])
        .await
        .is_empty());
    assert!(jtis(&app, &[("client_id", "nobody")]).await.is_empty());
}
on_both_backends!(filters_by_client_scheme_and_issue_time);

async fn items_show_the_record_and_never_a_token(app: TestApp) {
    let client = app.standard_client("ES256").await;
    let issued = via_token_create(&app, &client).await;
    let (status, page) = report(&app, &[("client_id", &client.id)]).await;
    assert_eq!(status, 200);
    assert_eq!(page["next_cursor"], Value::Null);
    let item = &page["items"][0];
    let fields: BTreeSet<&str> = item
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(fields, ITEM_FIELDS.into_iter().collect());
    assert_eq!(item["jti"], issued.jti.as_str());
    assert_eq!(item["client_id"], client.id.as_str());
    assert_eq!(item["scheme"], "token_create");
    assert_eq!(item["subject"], client.id.as_str());
    assert_eq!(item["scopes"], json!(["programs:read"]));
    assert_eq!(item["state"], "OH");
    assert_eq!(item["caller_ip"], "127.0.0.1");
    assert_eq!(item["ip_address"], DECLARED_IP);
    assert_eq!(item["issued_at"], rfc3339(issued.issued_at).as_str());
    assert_eq!(
        item["expires_at"],
        rfc3339(issued.issued_at + 3600).as_str()
    );
    assert_eq!(item["revoked_at"], Value::Null);
    assert!(!page.to_string().contains(&issued.token));
}
on_both_backends!(items_show_the_record_and_never_a_token);
