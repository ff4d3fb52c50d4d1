//! Uploads on DynamoDB: the record at `TENANT#{t}#UPLOAD#{id}` / `UPLOAD` (its timers and
//! decisions beside it), listed per uploader on `gsi2` newest change first. Writes carry the
//! idempotency key and the outbox events in one transaction, like leads.

use crate::directory::tenant_pk;
use crate::lead::{events_items, idempotency_item, listing_sk};
use crate::subject::{record_sk, subject_pk};
use crate::table::{ItemBuilder, Query, TxError, body, n, put, put_new, s};
use crate::{DynamoStore, ENTITY, GSI2, GSI2_PK, GSI2_SK};
use async_trait::async_trait;
use fieldline_domain::{DomainEvent, Subject, SubjectKind, TenantId, Upload, UploadId, UserId};
use fieldline_store::error::StoreResult;
use fieldline_store::{
    Created, Cursor, IdempotencyRecord, Page, StoreError, UploadStore, page_limit,
};

const SCOPE: &str = "upload.create";

fn upload_pk(tenant: &TenantId, id: UploadId) -> String {
    subject_pk(tenant, Subject::Upload(id))
}

fn uploader_partition(tenant: &TenantId, user: UserId) -> String {
    format!("{}#UPLOADER#{user}", tenant_pk(tenant))
}

fn upload_item(up: &Upload) -> StoreResult<crate::table::Item> {
    Ok(
        ItemBuilder::new(upload_pk(&up.tenant, up.id), record_sk(SubjectKind::Upload))
            .body(up)?
            .s(ENTITY, "upload")
            .n("version", up.version as i64)
            .s("upload_status", up.status.as_str())
            .s(GSI2_PK, uploader_partition(&up.tenant, up.created_by))
            .s(GSI2_SK, listing_sk(up.updated_at.timestamp_millis(), up.id))
            .build(),
    )
}

#[async_trait]
impl UploadStore for DynamoStore {
    async fn create_upload(
        &self,
        upload: &Upload,
        events: &[DomainEvent],
        idempotency: Option<&IdempotencyRecord>,
    ) -> StoreResult<Created<Upload>> {
        let mut items = Vec::new();
        let pk = upload_pk(&upload.tenant, upload.id);
        let sk = record_sk(SubjectKind::Upload);
        if let Some(rec) = idempotency {
            if let Some(original) = self.replay(&upload.tenant, rec, SCOPE).await? {
                return Ok(Created::Replayed(original));
            }
            items.push(put_new(
                self.table(),
                idempotency_item(&upload.tenant, rec, SCOPE, (&pk, &sk), upload.created_at),
            ));
        }
        items.push(put_new(self.table(), upload_item(upload)?));
        items.extend(events_items(self.table(), events)?);
        match self.transact(items).await {
            Ok(()) => Ok(Created::New(upload.clone())),
            // Another request with the same key won the race: answer with its upload.
            Err(TxError::Cancelled(flags)) if idempotency.is_some() && flags[0] => {
                let rec = idempotency.expect("checked above");
                self.replay(&upload.tenant, rec, SCOPE)
                    .await?
                    .map(Created::Replayed)
                    .ok_or_else(|| StoreError::corrupt_msg("idempotency key vanished"))
            }
            Err(TxError::Cancelled(_)) => {
                Err(StoreError::AlreadyExists(format!("upload {}", upload.id)))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn get_upload(&self, tenant: &TenantId, id: UploadId) -> StoreResult<Option<Upload>> {
        self.get_body(upload_pk(tenant, id), record_sk(SubjectKind::Upload))
            .await
    }

    async fn update_upload(
        &self,
        upload: &Upload,
        expected_version: u64,
        events: &[DomainEvent],
    ) -> StoreResult<()> {
        let mut items = vec![put(
            self.table(),
            upload_item(upload)?,
            Some("version = :expected"),
            &[(":expected", n(expected_version as i64))],
        )];
        items.extend(events_items(self.table(), events)?);
        match self.transact(items).await {
            Ok(()) => Ok(()),
            Err(TxError::Cancelled(_)) => Err(self
                .version_failure(&upload.tenant, Subject::Upload(upload.id), expected_version)
                .await),
            Err(e) => Err(e.into()),
        }
    }

    async fn list_uploads(
        &self,
        tenant: &TenantId,
        created_by: UserId,
        limit: u32,
        after: Option<Cursor>,
    ) -> StoreResult<Page<Upload>> {
        let mut values = vec![(":p", s(uploader_partition(tenant, created_by)))];
        let condition =
            crate::lead::newest_first_key(GSI2_PK, GSI2_SK, after.as_ref(), &mut values);
        let limit = page_limit(limit) as usize;
        let q = Query::index(GSI2, &condition, &values).newest_first();
        let items = self.query(q, limit + 1).await?;
        let uploads: Vec<Upload> = items.iter().map(body).collect::<StoreResult<_>>()?;
        Ok(Page::from_overfetched(uploads, limit))
    }
}
