//! The local stack's DynamoDB takes transactions as large as DynamoDB's (100 items): the award
//! with leaderboards, progression and counters needs more than DynamoDB Local 1.11's own 10
//! (infra/scripts/ddb-transaction-limit.py).

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use game_functions::store::{self, StoreError};
use game_tests::TestApp;

fn put(pk: &str, table: &str, condition: Option<&str>) -> TransactWriteItem {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(store::key(pk, "S")))
        .set_condition_expression(condition.map(str::to_owned))
        .build()
        .expect("put");
    TransactWriteItem::builder().put(put).build()
}

#[tokio::test]
async fn a_hundred_item_transaction_commits_all_or_nothing() {
    let app = TestApp::new().await;
    let table = app.table.clone();
    let items: Vec<_> = (0..100)
        .map(|i| put(&format!("LIMIT#{i}"), &table, None))
        .collect();
    let before = app.item_count().await;
    app.ctx
        .store
        .transact_once(items)
        .await
        .expect("100 items commit");
    assert_eq!(app.item_count().await, before + 100);

    // 99 new items and one whose condition fails: none of them is written.
    let before = app.item_count().await;
    let mut items: Vec<_> = (0..99)
        .map(|i| put(&format!("NEW#{i}"), &table, None))
        .collect();
    items.push(put("LIMIT#0", &table, Some("attribute_not_exists(PK)")));
    match app.ctx.store.transact_once(items).await {
        Err(StoreError::Cancelled { reasons }) => {
            assert_eq!(reasons.len(), 100);
            assert!(reasons[99].condition_failed());
            assert!(reasons[..99].iter().all(|r| !r.condition_failed()));
        }
        other => panic!("expected a cancelled transaction, got {other:?}"),
    }
    assert_eq!(app.item_count().await, before);

    // DynamoDB's own limit still holds.
    let too_many: Vec<_> = (0..101)
        .map(|i| put(&format!("OVER#{i}"), &table, None))
        .collect();
    assert!(app.ctx.store.transact_once(too_many).await.is_err());
    assert_eq!(app.item_count().await, before);
}
