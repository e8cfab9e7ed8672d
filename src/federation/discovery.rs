//! WebFinger (RFC 7033), NodeInfo 2.0/2.1 and host-meta: how other servers find this instance
//! and its groups.

use crate::{
    config::{Config, RegistrationMode},
    context::{AppState, Context},
    error::{Error, Result},
    groups::directory,
    instance,
};
use kindred_entities::actor::{self, ActorKind};
use serde_json::{Value, json};
use url::Url;

/// The `properties` key Mastodon and Lemmy read to learn an actor's type before fetching it.
const ACTIVITYSTREAMS_TYPE_PROPERTY: &str = "https://www.w3.org/ns/activitystreams#type";

/// Answers `GET /.well-known/webfinger?resource=…` with a JRD document.
///
/// Accepts `acct:name@domain` (the `acct:` may be left out, as Mastodon allows) and the actor's
/// own URL. Names are case-insensitive; a domain other than ours is not found.
pub async fn webfinger(context: &Context, resource: Option<&str>) -> Result<Value> {
    let resource = resource
        .map(str::trim)
        .filter(|resource| !resource.is_empty())
        .ok_or_else(|| Error::bad_request("the resource parameter is missing"))?;
    let config = &context.config;
    let actor = if resource.starts_with("https://") || resource.starts_with("http://") {
        let url = Url::parse(resource)
            .map_err(|_| Error::bad_request("the resource is not a valid URL"))?;
        directory::find_local_actor_by_url(&context.db, &url).await?
    } else {
        let (name, domain) = parse_acct(resource)?;
        if !crate::hosts::same_host(domain, &config.domain()) {
            return Err(Error::not_found("account on this domain"));
        }
        directory::find_local_actor_by_name(&context.db, name).await?
    };
    let actor = actor.ok_or_else(|| Error::not_found("account"))?;
    jrd_for(config, &actor)
}

/// Splits `acct:name@domain` (or `name@domain`, or `@name@domain`) into its two parts.
pub fn parse_acct(resource: &str) -> Result<(&str, &str)> {
    let account = resource
        .strip_prefix("acct:")
        .unwrap_or(resource)
        .trim_start_matches('@');
    let (name, domain) = account
        .split_once('@')
        .ok_or_else(|| Error::bad_request("the resource must look like acct:name@domain"))?;
    if name.is_empty() || domain.is_empty() || domain.contains('@') || domain.contains('/') {
        return Err(Error::bad_request(
            "the resource must look like acct:name@domain",
        ));
    }
    Ok((name, domain))
}

fn jrd_for(config: &Config, actor: &actor::Model) -> Result<Value> {
    let name = actor
        .local_name
        .as_deref()
        .ok_or_else(|| Error::not_found("account"))?;
    let page = actor
        .html_url
        .clone()
        .unwrap_or_else(|| actor.ap_id.clone());
    let kind: &str = match actor.kind {
        ActorKind::Group => "Group",
        ActorKind::Person => "Person",
        ActorKind::Application => "Application",
        ActorKind::Service => "Service",
        ActorKind::Organization => "Organization",
    };
    let mut aliases = vec![actor.ap_id.clone()];
    if page != actor.ap_id {
        aliases.push(page.clone());
    }
    Ok(json!({
        "subject": format!("acct:{name}@{}", config.domain()),
        "aliases": aliases,
        "links": [
            {
                "rel": "http://webfinger.net/rel/profile-page",
                "type": "text/html",
                "href": page
            },
            {
                "rel": "self",
                "type": "application/activity+json",
                "href": actor.ap_id,
                "properties": { ACTIVITYSTREAMS_TYPE_PROPERTY: kind }
            }
        ]
    }))
}

/// `/.well-known/nodeinfo`: where the NodeInfo documents are.
pub fn nodeinfo_links(config: &Config) -> Value {
    json!({
        "links": [
            {
                "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
                "href": config.url_for("/nodeinfo/2.1")
            },
            {
                "rel": "http://nodeinfo.diaspora.software/ns/schema/2.0",
                "href": config.url_for("/nodeinfo/2.0")
            }
        ]
    })
}

/// The NodeInfo document in schema version "2.0" or "2.1", with usage counted at most ten
/// minutes ago (`caches::UsageStatisticsCache`).
pub async fn nodeinfo(context: &Context, version: &str) -> Result<Value> {
    let config = &context.config;
    let site = context.site_settings.current();
    let usage = context
        .usage_statistics
        .get_or_count(|| instance::usage_statistics(&context.read_db))
        .await?;
    let mut software = json!({
        "name": "kindred",
        "version": env!("CARGO_PKG_VERSION"),
    });
    if version == "2.1" {
        software["homepage"] = json!(config.instance.public_url);
    }
    Ok(json!({
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": { "inbound": [], "outbound": [] },
        "openRegistrations": site.registration == RegistrationMode::Open,
        "usage": {
            "users": {
                "total": usage.total_users,
                "activeMonth": usage.active_users_month,
                "activeHalfyear": usage.active_users_half_year
            },
            "localPosts": usage.local_posts
        },
        "metadata": {
            "nodeName": site.name,
            "nodeDescription": site.description,
            "localGroups": usage.local_groups,
            "federation": { "enabled": true }
        }
    }))
}

/// `/.well-known/host-meta`: the XRD that points older clients at WebFinger.
pub fn host_meta(config: &Config) -> String {
    let template = format!(
        "{}.well-known/webfinger?resource={{uri}}",
        config.instance.public_url
    );
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\">\n  <Link rel=\"lrdd\" template=\"{}\"/>\n</XRD>\n",
        crate::html::escape(&template)
    )
}

/// Finds the group `address` names, fetching it from its server when it is not known yet:
/// `!name@host` (Lemmy's way), `@name@host` (Mastodon's), `name@host`, a bare local `name`,
/// or the group's URL. Anything that is not a group is not found.
pub async fn resolve_group(context: &Context, address: &str) -> Result<actor::Model> {
    use crate::federation::objects::actor::ApubActor;
    use activitypub_federation::fetch::{object_id::ObjectId, webfinger::webfinger_resolve_actor};
    let address = address.trim();
    let found = if address.starts_with("https://") || address.starts_with("http://") {
        let url = Url::parse(address).map_err(|_| Error::invalid("that is not a valid URL"))?;
        match directory::find_local_actor_by_url(&context.db, &url).await? {
            Some(local) => local,
            None => {
                ObjectId::<ApubActor>::from(url)
                    .dereference(context)
                    .await
                    .map_err(|_| Error::not_found("group at that address"))?
                    .row
            }
        }
    } else {
        let handle = address.trim_start_matches(['!', '@']);
        let local_name = match handle.split_once('@') {
            None => Some(handle),
            Some((name, domain)) if crate::hosts::same_host(domain, &context.config.domain()) => {
                Some(name)
            }
            Some(_) => None,
        };
        if let Some(name) = local_name {
            directory::find_local_group(&context.db, name).await?
        } else if let Some(known) = directory::find_group_by_handle(&context.db, handle).await? {
            known
        } else {
            let (name, domain) = parse_acct(handle).map_err(|_| {
                Error::invalid("write a group as !name@host, @name@host or its URL")
            })?;
            webfinger_resolve_actor::<AppState, ApubActor>(&format!("{name}@{domain}"), context)
                .await
                .map_err(|_| Error::not_found("group at that address"))?
                .row
        }
    };
    if found.kind != ActorKind::Group || found.deleted_at.is_some() {
        return Err(Error::not_found("group at that address"));
    }
    if !found.local {
        let blocked =
            crate::federation::instances::cached_blocked_hosts(context, &context.db).await?;
        let host = crate::federation::instances::host_of(&Url::parse(&found.ap_id)?)?;
        if !crate::federation::instances::federates_with(&context.config, &blocked, &host) {
            return Err(Error::Forbidden(
                "this instance does not federate with that server".into(),
            ));
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acct_forms() {
        assert_eq!(
            parse_acct("acct:repair@a.example").ok(),
            Some(("repair", "a.example"))
        );
        assert_eq!(
            parse_acct("repair@a.example").ok(),
            Some(("repair", "a.example"))
        );
        assert_eq!(
            parse_acct("@repair@a.example:8080").ok(),
            Some(("repair", "a.example:8080"))
        );
        for bad in [
            "acct:repair",
            "acct:@a.example",
            "acct:repair@",
            "a@b@c",
            "acct:x@a/b",
        ] {
            assert!(parse_acct(bad).is_err(), "{bad}");
        }
    }
}
