//! Where a subject lives in the table: every record type has its own partition
//! `TENANT#{t}#{KIND}#{id}` with the record itself under the sort key `{KIND}`; its timers and
//! decisions share that partition, so "everything about this deal" is one query.

use crate::directory::tenant_pk;
use fieldline_domain::{Subject, SubjectKind, TenantId};

fn tag(kind: SubjectKind) -> String {
    kind.as_str().to_ascii_uppercase()
}

pub(crate) fn subject_pk(tenant: &TenantId, subject: Subject) -> String {
    format!(
        "{}#{}#{}",
        tenant_pk(tenant),
        tag(subject.kind()),
        subject.id()
    )
}

/// The sort key of the record item itself (`LEAD`, `UPLOAD`).
pub(crate) fn record_sk(kind: SubjectKind) -> String {
    tag(kind)
}
