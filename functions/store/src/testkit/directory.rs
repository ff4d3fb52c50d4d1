//! The directory contract: tenants, teams, users, unique e-mails.

use crate::*;
use fieldline_domain::*;

fn tenant(id: &str) -> Tenant {
    Tenant::new(
        TenantId::parse(id).unwrap(),
        PersonName::parse("Acme 机电").unwrap(),
        "Asia/Shanghai",
        "CN",
    )
}

fn directory_user(tenant: &TenantId, team: TeamId, email: &str) -> User {
    User {
        id: UserId::new(),
        tenant: tenant.clone(),
        name: PersonName::parse("李娜").unwrap(),
        email: EmailAddress::parse(email).unwrap(),
        role: Role::Rep,
        team: Some(team),
        active: true,
    }
}

/// Tenants, teams and users: creation is idempotent for tenants, unique e-mails per tenant,
/// teams and users need their tenant, and nothing crosses tenants.
pub async fn directory_contract(store: &dyn DirectoryStore) {
    let acme = tenant("acme");
    assert!(store.create_tenant(&acme).await.unwrap());
    assert!(
        !store.create_tenant(&acme).await.unwrap(),
        "second create is a no-op"
    );
    assert_eq!(
        store.get_tenant(&acme.id).await.unwrap(),
        Some(acme.clone())
    );
    let mut renamed = acme.clone();
    renamed.time_zone = "Asia/Hong_Kong".into();
    store.update_tenant(&renamed).await.unwrap();
    assert_eq!(
        store.get_tenant(&acme.id).await.unwrap().unwrap().time_zone,
        "Asia/Hong_Kong"
    );
    assert!(matches!(
        store.update_tenant(&tenant("nobody")).await,
        Err(StoreError::NotFound)
    ));
    let globex = tenant("globex");
    store.create_tenant(&globex).await.unwrap();

    let team = Team {
        id: TeamId::new(),
        tenant: acme.id.clone(),
        name: PersonName::parse("华东").unwrap(),
        manager: None,
    };
    store.create_team(&team).await.unwrap();
    assert_eq!(
        store.list_teams(&acme.id).await.unwrap(),
        vec![team.clone()]
    );
    assert!(store.list_teams(&globex.id).await.unwrap().is_empty());
    let orphan = Team {
        tenant: TenantId::parse("missing").unwrap(),
        ..team.clone()
    };
    assert!(
        store.create_team(&orphan).await.is_err(),
        "a team needs its tenant"
    );

    let li = directory_user(&acme.id, team.id, "li@acme.cn");
    store.create_user(&li).await.unwrap();
    let twin = directory_user(&acme.id, team.id, "li@acme.cn");
    assert!(matches!(
        store.create_user(&twin).await,
        Err(StoreError::AlreadyExists(_))
    ));
    // The same address in another tenant is another person.
    store
        .create_user(&directory_user(&globex.id, TeamId::new(), "li@acme.cn"))
        .await
        .unwrap();
    assert_eq!(
        store.get_user(&acme.id, li.id).await.unwrap(),
        Some(li.clone())
    );
    assert_eq!(store.get_user(&globex.id, li.id).await.unwrap(), None);
    assert_eq!(
        store
            .find_user_by_email(&acme.id, "li@acme.cn")
            .await
            .unwrap(),
        Some(li.clone())
    );
    assert_eq!(
        store
            .find_user_by_email(&acme.id, "nobody@acme.cn")
            .await
            .unwrap(),
        None
    );
    for n in 0..30 {
        store
            .create_user(&directory_user(
                &acme.id,
                team.id,
                &format!("rep{n}@acme.cn"),
            ))
            .await
            .unwrap();
    }
    assert_eq!(store.list_users(&acme.id).await.unwrap().len(), 31);

    // Deactivating and moving a user show on the next read; the e-mail stays the identity.
    let moved = TeamId::new();
    let changed = User {
        active: false,
        team: Some(moved),
        role: Role::Manager,
        ..li.clone()
    };
    store.update_user(&changed).await.unwrap();
    assert_eq!(
        store.get_user(&acme.id, li.id).await.unwrap(),
        Some(changed.clone())
    );
    assert_eq!(
        store
            .find_user_by_email(&acme.id, "li@acme.cn")
            .await
            .unwrap(),
        Some(changed.clone())
    );
    let renamed = User {
        email: EmailAddress::parse("other@acme.cn").unwrap(),
        ..changed.clone()
    };
    assert!(
        store.update_user(&renamed).await.is_err(),
        "e-mail is fixed"
    );
    assert_eq!(
        store.get_user(&acme.id, li.id).await.unwrap(),
        Some(changed)
    );
    let ghost = directory_user(&acme.id, team.id, "ghost@acme.cn");
    assert!(matches!(
        store.update_user(&ghost).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.list_users(&globex.id).await.unwrap().len(), 1);
}
