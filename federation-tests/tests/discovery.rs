//! Two instances find each other's groups the way remote servers do: WebFinger, then a signed
//! fetch of the Group actor, parsed by the same code that reads Lemmy's and Mastodon's.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use activitypub_federation::fetch::webfinger::webfinger_resolve_actor;
use kindred::{
    federation::objects::actor::ApubActor,
    groups::directory::{self, NewGroup},
    testing,
};
use kindred_entities::actor::ActorKind;
use kindred_federation_tests::TestNetwork;
use sea_orm::EntityTrait;

#[tokio::test]
async fn an_instance_resolves_and_stores_a_group_of_another_by_its_handle() {
    for backend in testing::backends_under_test() {
        let network = TestNetwork::start(&["alpha", "beta"], backend).await;
        let alpha = network.instance("alpha");
        let beta = network.instance("beta");
        let beta_context = beta.context();
        directory::create_group(
            &beta.database.connection,
            &beta_context.config,
            &beta_context.keys,
            NewGroup {
                name: "repair",
                title: "Repair café",
                summary_markdown: Some("We *fix*."),
            },
        )
        .await
        .unwrap();

        let handle = format!("repair@{}", beta.domain);
        let group: ApubActor = webfinger_resolve_actor(&handle, &alpha.context())
            .await
            .unwrap_or_else(|error| panic!("{backend:?}: cannot resolve {handle}: {error}"));
        assert_eq!(group.row.kind, ActorKind::Group);
        assert!(!group.row.local);
        assert_eq!(group.row.ap_id, beta.url("/groups/repair"));
        assert_eq!(group.row.display_name.as_deref(), Some("Repair café"));
        assert_eq!(group.row.inbox_url, beta.url("/groups/repair/inbox"));
        assert_eq!(
            group.row.shared_inbox_url.as_deref(),
            Some(beta.url("/inbox").as_str())
        );
        assert_eq!(
            group.row.moderators_url.as_deref(),
            Some(beta.url("/groups/repair/moderators").as_str())
        );
        assert!(group.row.public_key_pem.contains("BEGIN PUBLIC KEY"));
        assert_eq!(group.row.private_key_pem, None);

        // Alpha now knows beta as an instance, keyed by host and port.
        let hosts: Vec<String> = kindred_entities::instance::Entity::find()
            .all(&alpha.database.connection)
            .await
            .unwrap()
            .into_iter()
            .map(|instance| instance.host)
            .collect();
        assert!(hosts.contains(&beta.domain), "{hosts:?}");

        // An unknown group is an error, not a crash.
        let missing = format!("nobody@{}", beta.domain);
        assert!(
            webfinger_resolve_actor::<_, ApubActor>(&missing, &alpha.context())
                .await
                .is_err()
        );
        network.stop().await;
    }
}
