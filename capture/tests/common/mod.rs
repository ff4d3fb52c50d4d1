//! Helpers shared by the capture test binaries.
#![allow(dead_code)] // each test binary uses its own subset

use fieldline_capture::serve::{SidecarState, router};

/// The bearer token every test sidecar accepts.
pub const TOKEN: &str = "sidecar-test-token-0123456789";

/// The JSON objects a `--jsonl` run printed, after checking the run itself succeeded.
pub fn jsonl_objects(out: std::process::Output) -> Vec<serde_json::Value> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Serves a sidecar on 127.0.0.1 with a random port; returns its base URL.
pub async fn serve(state: SidecarState) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router(state)).await.unwrap() });
    base
}

/// A sidecar's `/health` answer.
pub async fn health(base: &str) -> serde_json::Value {
    reqwest::get(format!("{base}/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
