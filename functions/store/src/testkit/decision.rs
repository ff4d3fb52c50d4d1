//! The decision-log contract, and open-lead counts per owner.

use super::Backend;
use super::fixture::*;
use chrono::Duration;
use fieldline_domain::*;

fn decision<S>(
    f: &Fixture<S>,
    lead: LeadId,
    event: EventId,
    index: u32,
    at: Timestamp,
) -> Decision {
    Decision {
        tenant: f.tenant.clone(),
        rule: RuleId::parse("first-contact").unwrap(),
        rule_version: 1,
        event,
        trigger: EventKind::LeadCreated,
        subject: Subject::Lead(lead),
        action_index: index,
        action: serde_json::json!({"do": "notify"}),
        evidence: vec![],
        outcome: DecisionOutcome::Done,
        detail: String::new(),
        at,
    }
}

/// The decision log is unique per (event, rule, action), listed per lead oldest first and
/// per tenant newest first; open-lead counts ignore closed leads and other teams.
pub async fn decisions_and_open_lead_counts<S: Backend>(store: S) {
    let f = fixture(store).await;
    let (lead, events) = new_lead(&f.rep, t0());
    f.store.create_lead(&lead, &events, None).await.unwrap();
    let event = EventId::new();
    for i in 0..3 {
        let at = t0() + Duration::minutes(i.into());
        assert!(
            f.store
                .record_decision(&decision(&f, lead.id, event, i, at))
                .await
                .unwrap()
        );
    }
    assert!(
        !f.store
            .record_decision(&decision(&f, lead.id, event, 1, t0() + Duration::hours(1)))
            .await
            .unwrap(),
        "a redelivered event records nothing twice"
    );
    let of_lead = f
        .store
        .list_decisions(&f.tenant, Some(lead.id.into()), 10)
        .await
        .unwrap();
    assert_eq!(
        of_lead.iter().map(|d| d.action_index).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    let recent = f.store.list_decisions(&f.tenant, None, 2).await.unwrap();
    assert_eq!(
        recent.iter().map(|d| d.action_index).collect::<Vec<_>>(),
        [2, 1]
    );
    let other = TenantId::parse("globex").unwrap();
    assert!(
        f.store
            .list_decisions(&other, None, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let rep2 = user(&f.tenant, Some(f.team), "rep2@acme.cn");
    f.store.create_user(&rep2).await.unwrap();
    for (owner, status) in [
        (&rep2, LeadStatus::New),
        (&rep2, LeadStatus::Contacted),
        (&rep2, LeadStatus::Converted),
        (&f.rep, LeadStatus::Disqualified),
    ] {
        let (mut l, ev) = new_lead(owner, t0());
        l.status = status;
        f.store.create_lead(&l, &ev, None).await.unwrap();
    }
    let mut counts = f.store.open_lead_counts(&f.tenant, f.team).await.unwrap();
    counts.sort();
    let mut expected = vec![(f.rep.id, 1), (rep2.id, 2)];
    expected.sort();
    assert_eq!(counts, expected);
    assert!(
        f.store
            .open_lead_counts(&f.tenant, TeamId::new())
            .await
            .unwrap()
            .is_empty()
    );
}
