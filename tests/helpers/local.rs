//! Runs the functions on one machine against a DynamoDB/S3-protocol server (moto in the
//! tests): the API routers over HTTP, the schedule on a timer, and the table's stream read
//! through the DynamoDB Streams API and handed to [`Functions::on_stream`] in the exact
//! record shape Lambda delivers, with its partial-failure contract (retry from the first
//! failed record). This is how the AWS-mode end-to-end tests run the real handlers.

use aws_lambda_events::event::dynamodb::Event as DynamoDbEvent;
use fieldline_lambda::Functions;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::watch;

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
        let shard_ids: Vec<String> = description["StreamDescription"]["Shards"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["ShardId"].as_str().map(str::to_owned))
            .collect();
        let mut delivered = 0;
        for shard in shard_ids {
            delivered += self.poll_shard(arn, &shard).await?;
        }
        Ok(delivered)
    }

    async fn poll_shard(&mut self, arn: &str, shard: &str) -> anyhow::Result<usize> {
        // A fresh iterator from the checkpoint each time: iterators expire on AWS, and a
        // long-lived one would pin the consumer to an old view of the shard.
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
        let Some(iterator) = iterator["ShardIterator"].as_str() else {
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
        if records.is_empty() {
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
        Ok(handled)
    }

    /// Polls until `stop` turns true.
    pub async fn run(mut self, every: Duration, mut stop: watch::Receiver<bool>) {
        loop {
            if let Err(e) = self.poll().await {
                tracing::warn!(error = %e, "stream poll failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => return,
            }
        }
    }
}

/// Runs the scheduled function every `every` until `stop` turns true.
pub async fn run_schedule(functions: Functions, every: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        if let Err(e) = functions.on_schedule().await {
            tracing::warn!(error = %e, "scheduled run failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
    }
}
