//! Slow and hostile clients must not lock others out: phones on bad networks are slow, and a
//! few thousand half-sent requests once exhausted the server's file descriptors.

use fieldline_tests::*;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Opens a connection to `server` from the loopback address `from`.
async fn connect_from(from: IpAddr, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    socket.connect(server).await.unwrap()
}

/// Whether the server has ended the connection within `wait` (anything it said first, such as
/// an error response, is read and ignored).
async fn ended_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut sink = Vec::new();
    matches!(
        tokio::time::timeout(wait, stream.read_to_end(&mut sink)).await,
        Ok(Ok(_)) | Ok(Err(_))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_and_others_are_served_meanwhile() {
    let app = TestApp::spawn_configured(|c| {
        c.limits.header_timeout_secs = 1;
        c.limits.body_idle_timeout_secs = 1;
        c.limits.max_connections = 200;
        c.limits.max_connections_per_client = 20;
    })
    .await;
    let f = fixture(&app.state).await;
    let token = app.token(&f.east_rep);
    let server: SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();

    // One client (127.0.0.2) opens three times its share of connections and never finishes a
    // request on any: half the headers on some, a stalled body on the others.
    let hostile: IpAddr = "127.0.0.2".parse().unwrap();
    let mut held = Vec::new();
    for i in 0..60 {
        let mut stream = connect_from(hostile, server).await;
        let partial = if i % 2 == 0 {
            "GET /health HTTP/1.1\r\nHost: fieldline\r\n".to_owned()
        } else {
            format!(
                "POST /v1/leads HTTP/1.1\r\nHost: fieldline\r\nAuthorization: Bearer {token}\r\n\
                 Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"source\":"
            )
        };
        let _ = stream.write_all(partial.as_bytes()).await;
        held.push(stream);
    }

    // Everyone else is answered meanwhile (a locked-out server would never answer).
    for _ in 0..10 {
        tokio::time::timeout(Duration::from_secs(10), app.get("/v1/me", &token))
            .await
            .expect("answered while the slow client holds its connections")
            .expect(200);
    }

    // Beyond its share (the connections after the first 20), the client's connections were
    // closed at once, not queued behind the deadlines...
    for stream in &mut held[20..] {
        assert!(
            ended_within(stream, Duration::from_millis(500)).await,
            "a connection beyond the client's share was kept"
        );
    }
    // ...and the ones it was allowed are cut off by the header and body deadlines.
    for stream in &mut held {
        assert!(
            ended_within(stream, Duration::from_secs(4)).await,
            "a slow connection outlived its deadline"
        );
    }
    // The stalled creates stored nothing.
    let leads = app.get("/v1/leads", &token).await.expect(200).body;
    assert_eq!(leads["items"].as_array().unwrap().len(), 0);
    // And the client, once its connections are gone, is served like anyone else.
    let mut again = connect_from(hostile, server).await;
    again
        .write_all(b"GET /health HTTP/1.1\r\nHost: fieldline\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut reply = String::new();
    again.read_to_string(&mut reply).await.unwrap();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
}
