//! Several HTTP APIs in one template: each gets its own port (as each has its own host in AWS);
//! a quick-create API (`Target`) answers every path through its `$default` route; a named stage
//! is addressed by its path prefix.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread")]
async fn quick_create_and_named_stage_apis_side_by_side() {
    let template = repo_root().join("crates/cli/tests/fixtures/two-apis.yaml");
    let server = Server::start(&template, &[]);
    let urls: Vec<String> = server
        .banner
        .lines()
        .filter_map(|l| l.strip_prefix("Gateway:"))
        .map(|rest| rest.split_whitespace().next().unwrap().to_string())
        .collect();
    assert_eq!(urls.len(), 2, "{}", server.banner);
    assert!(server.banner.contains("(API QuickApi"), "{}", server.banner);

    let quick = get(&format!("{}/any/path", urls[0])).await;
    assert_eq!(quick.status, 200, "{}\n{}", quick.body, server.logs());
    assert_eq!(quick.body, "$default /any/path");

    let staged = get(&format!("{}/dev/items/7", urls[1])).await;
    assert_eq!(staged.status, 200, "{}\n{}", staged.body, server.logs());
    assert_eq!(staged.body, "GET /items/{id} /dev/items/7");

    // No `$default` stage on the second API: the bare path is not found.
    let unstaged = get(&format!("{}/items/7", urls[1])).await;
    assert_eq!(unstaged.status, 404);
}
