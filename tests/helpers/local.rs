//! Runs the functions on one machine against a DynamoDB/S3-protocol server (moto in the
//! tests): the API routers over HTTP, the schedule on a timer, and the table's stream read
//! through the DynamoDB Streams API and handed to [`Functions::on_stream`] in the exact
//! record shape Lambda delivers, with its partial-failure contract (retry from the first
//! failed record). This is how the AWS-mode end-to-end tests run the real handlers.

use aws_lambda_events::event::dynamodb::Event as DynamoDbEvent;
use fieldline_lambda::Functions;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// How often (in polls) a runner looks the stream's shards up again.
const DESCRIBE_EVERY: u32 = 100;

/// A minimal DynamoDB Streams client over the JSON wire protocol. Local servers do not
/// check signatures; this is never pointed at AWS (Lambda's event source mapping is).
struct StreamsClient {
    http: reqwest::Client,
    endpoint: String,
}

impl StreamsClient {
    async fn call(&self, target: &str, body: Value) -> anyhow::Result<Value> {
        let response = self
            .http
            .post(&self.endpoint)
            .header("x-amz-target", target)
            .header("content-type", "application/x-amz-json-1.0")
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, \
                 SignedHeaders=host, Signature=0",
            )
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let value: Value = response.json().await?;
        anyhow::ensure!(status.is_success(), "{target}: {status} {value}");
        Ok(value)
    }
}

/// Polls every shard of the table's stream and delivers batches to the stream handler.
/// Like Lambda's event source mapping it checkpoints by sequence number: after a partial
/// failure the next batch starts at the first failed record.
pub struct StreamRunner {
    functions: Functions,
    client: StreamsClient,
    table: String,
    /// Per shard: the sequence number of the last record handled successfully.
    checkpoints: HashMap<String, String>,
    /// The stream's ARN and shard ids, looked up again every [`DESCRIBE_EVERY`] polls: a
    /// test's table has one stream, and describing it on every 50 ms tick of every app was
    /// a large share of the one local server's requests.
    shards: Option<(String, Vec<String>)>,
    polls: u32,
    /// Per shard: the iterator the last read returned, to read on from without asking for a
    /// new one (dropped after a failed batch, which is read again from the checkpoint). It
    /// stays on the live shard because `scripts/moto_serial.py` keeps a table's stream across
    /// a rolled-back transaction (moto alone swaps in a copy); iterators expire on AWS, which
    /// Lambda's event source mapping handles there.
    next: HashMap<String, String>,
    /// The capture function's consumer (`on_capture_stream`) instead of the main one.
    capture: bool,
}

impl StreamRunner {
    pub fn new(functions: Functions, endpoint: &str, table: &str) -> Self {
        Self {
            functions,
            client: StreamsClient {
                http: reqwest::Client::new(),
                endpoint: endpoint.to_owned(),
            },
            table: table.to_owned(),
            checkpoints: HashMap::new(),
            shards: None,
            polls: 0,
            next: HashMap::new(),
            capture: false,
        }
    }

    /// The second consumer of the same stream, with its own checkpoints, as the capture
    /// function is on AWS.
    pub fn capture(functions: Functions, endpoint: &str, table: &str) -> Self {
        Self {
            capture: true,
            ..Self::new(functions, endpoint, table)
        }
    }

    /// One pass over the stream; returns how many records were handled successfully.
    pub async fn poll(&mut self) -> anyhow::Result<usize> {
        if self.polls.is_multiple_of(DESCRIBE_EVERY) {
            self.shards = None;
            self.next.clear();
        }
        self.polls = self.polls.wrapping_add(1);
        let (arn, shard_ids) = match self.shards.take() {
            Some(known) => known,
            None => self.describe().await?,
        };
        let mut delivered = 0;
        let mut outcome = Ok(());
        for shard in &shard_ids {
            match self.poll_shard(&arn, shard).await {
                Ok(n) => delivered += n,
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        self.shards = Some((arn, shard_ids));
        outcome.map(|()| delivered)
    }

    async fn describe(&self) -> anyhow::Result<(String, Vec<String>)> {
        let table = self
            .client
            .call(
                "DynamoDB_20120810.DescribeTable",
                json!({"TableName": self.table}),
            )
            .await?;
        let Some(arn) = table["Table"]["LatestStreamArn"].as_str() else {
            anyhow::bail!("table {} has no stream", self.table);
        };
        let description = self
            .client
            .call(
                "DynamoDBStreams_20120810.DescribeStream",
                json!({"StreamArn": arn}),
            )
            .await?;
        let shard_ids = description["StreamDescription"]["Shards"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["ShardId"].as_str().map(str::to_owned))
            .collect();
        Ok((arn.to_owned(), shard_ids))
    }

    async fn poll_shard(&mut self, arn: &str, shard: &str) -> anyhow::Result<usize> {
        let iterator = match self.next.remove(shard) {
            Some(iterator) => Some(iterator),
            None => self.fresh_iterator(arn, shard).await?,
        };
        let Some(iterator) = iterator else {
            return Ok(0);
        };
        let page = self
            .client
            .call(
                "DynamoDBStreams_20120810.GetRecords",
                json!({"ShardIterator": iterator, "Limit": 100}),
            )
            .await?;
        let records = page["Records"].as_array().cloned().unwrap_or_default();
        let next = page["NextShardIterator"].as_str().map(str::to_owned);
        if records.is_empty() {
            if let Some(next) = next {
                self.next.insert(shard.to_owned(), next);
            }
            return Ok(0);
        }
        let seq_of = |r: &Value| r["dynamodb"]["SequenceNumber"].as_str().map(str::to_owned);
        let event: DynamoDbEvent = serde_json::from_value(json!({ "Records": records }))?;
        let response = if self.capture {
            self.functions.on_capture_stream(event).await
        } else {
            self.functions.on_stream(event).await
        };
        let failed_at = response
            .batch_item_failures
            .first()
            .and_then(|f| f.item_identifier.as_deref())
            .and_then(|seq| {
                records
                    .iter()
                    .position(|r| seq_of(r).as_deref() == Some(seq))
            });
        let handled = failed_at.unwrap_or(records.len());
        if let Some(last) = handled.checked_sub(1).and_then(|i| seq_of(&records[i])) {
            self.checkpoints.insert(shard.to_owned(), last);
        }
        // After a failure the next poll reads again from the checkpoint.
        if let (None, Some(next)) = (failed_at, next) {
            self.next.insert(shard.to_owned(), next);
        }
        Ok(handled)
    }

    /// An iterator from the checkpoint (the shard's start before the first batch).
    async fn fresh_iterator(&self, arn: &str, shard: &str) -> anyhow::Result<Option<String>> {
        let request = match self.checkpoints.get(shard) {
            Some(seq) => json!({"StreamArn": arn, "ShardId": shard,
                "ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": seq}),
            None => {
                json!({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"})
            }
        };
        let iterator = self
            .client
            .call("DynamoDBStreams_20120810.GetShardIterator", request)
            .await?;
        Ok(iterator["ShardIterator"].as_str().map(str::to_owned))
    }

    /// Polls until `stop` turns true, waking `delivered` after every batch handled.
    pub async fn run(
        mut self,
        every: Duration,
        delivered: Arc<Notify>,
        mut stop: watch::Receiver<bool>,
    ) {
        loop {
            match self.poll().await {
                Ok(0) => {}
                Ok(_) => delivered.notify_one(),
                Err(e) => tracing::warn!(error = %e, "stream poll failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => return,
            }
        }
    }
}

/// Runs the scheduled function until `stop` turns true: when a stream batch was handled (a
/// write may have set a timer due now) and whenever the clock has moved a second since the
/// last run (a test's clock jumps; a real one ticks). Lambda's schedule is a minute; running
/// it on every 50 ms tick meant 16 queries each (eight timer and eight delivery shards), which
/// moto answers by reading the whole table, and it kept the suite's one local server busy.
pub async fn run_schedule(
    functions: Functions,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let clock = functions.application().state().clock.clone();
    let mut last = None;
    loop {
        let now = clock.now();
        if last.is_none_or(|at| now - at >= chrono::Duration::seconds(1)) {
            last = Some(now);
            if let Err(e) = functions.on_schedule().await {
                tracing::warn!(error = %e, "scheduled run failed");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            _ = wake.notified() => last = None,
            _ = stop.changed() => return,
        }
    }
}
