//! Group pages: the directory with search, a group's page (threads, members, how to join),
//! creating a group, joining and leaving, and writing a new thread.

use crate::{
    app::Context,
    config::GroupCreation,
    error::Error,
    federation::discovery,
    groups::{
        directory, membership,
        posts::{self, ThreadOrder},
    },
    html::{escape, escape_xml},
    http::web::{
        accounts::problem_html,
        layout::{PageResult, page},
        session::{ButtonForm, SignedInForm, Visitor, carries_csrf_token},
    },
};
use axum::{
    extract::{Path, Query},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use kindred_entities::{actor, membership::MembershipState};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct DirectoryQuery {
    #[serde(default)]
    q: String,
}

/// The front page: the group directory (local groups and remote ones this instance knows),
/// searchable by name, title and summary.
pub async fn home(
    context: Context,
    visitor: Visitor,
    Query(query): Query<DirectoryQuery>,
) -> PageResult {
    let config = &context.config;
    let search = query.q.trim();
    let groups = directory::search_groups(&context.db, search, 200).await?;

    let mut body = format!(
        "<h1>{}</h1>\n<p>{}</p>\n",
        escape(&config.instance.name),
        escape(&config.instance.description)
    );
    body.push_str(&format!(
        "<form method=\"get\" action=\"/\" role=\"search\">\n<label for=\"q\">Search groups</label>\
         <input type=\"search\" id=\"q\" name=\"q\" value=\"{}\">\n<button type=\"submit\">Search</button>\n</form>\n",
        escape(search)
    ));
    if visitor.signed_in.as_ref().is_some_and(|signed_in| {
        config.instance.group_creation == GroupCreation::Anyone || signed_in.account.user.is_admin
    }) {
        body.push_str("<p><a class=\"button\" href=\"/create-group\">Create a group</a></p>\n");
    }
    if visitor.signed_in.is_some() {
        body.push_str(&format!(
            "<form method=\"post\" action=\"/join-remote\" class=\"card\">\n\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\n\
             <label for=\"address\">Join a group on another server</label>\
             <input type=\"text\" id=\"address\" name=\"address\" placeholder=\"!name@example.org\" aria-describedby=\"address-hint\" required>\n\
             <p class=\"hint\" id=\"address-hint\">A Lemmy community, a Kindred group or any fediverse group: !name@host, @name@host or its address.</p>\n\
             <button type=\"submit\">Join</button>\n</form>\n",
            escape(visitor.csrf_token())
        ));
    }
    body.push_str("<h2>Groups</h2>\n");
    if groups.is_empty() {
        body.push_str(if search.is_empty() {
            "<p>No groups yet.</p>\n"
        } else {
            "<p>No group matches that search.</p>\n"
        });
    } else {
        body.push_str("<ul class=\"groups\">\n");
        for group in &groups {
            let members = membership::member_count(&context.db, group.id).await?;
            let link = if group.local {
                format!("/groups/{}", group.preferred_username)
            } else {
                group
                    .html_url
                    .clone()
                    .unwrap_or_else(|| group.ap_id.clone())
            };
            body.push_str(&format!(
                "<li><a href=\"{}\">{}</a> <span class=\"handle\">{}</span> <span class=\"meta\">· {} {}</span></li>\n",
                escape(&link),
                escape(group.display_name.as_deref().unwrap_or(&group.preferred_username)),
                escape(&directory::full_handle(&context.config.domain(), group)),
                members,
                if members == 1 { "member" } else { "members" },
            ));
        }
        body.push_str("</ul>\n");
    }
    Ok(page(&context, &visitor, &config.instance.name, &body).into_response())
}

#[derive(Deserialize, Default)]
pub struct GroupPageQuery {
    #[serde(default)]
    pub sort: ThreadOrder,
}

/// A group's page: what it is about, how to join it, its threads.
pub async fn group_page(
    context: &Context,
    visitor: &Visitor,
    group: actor::Model,
    order: ThreadOrder,
) -> PageResult {
    let handle = directory::full_handle(&context.config.domain(), &group);
    let title = group
        .display_name
        .clone()
        .unwrap_or_else(|| group.preferred_username.clone());
    let members = if group.local {
        membership::member_count(&context.db, group.id).await?
    } else {
        membership::local_member_count(&context.db, group.id).await?
    };
    let threads = posts::list_threads(&context.db, group.id, order, 50).await?;

    let icon = group
        .icon_url
        .as_deref()
        .map(|icon| {
            format!(
                "<img class=\"icon\" src=\"{}\" alt=\"\" width=\"64\" height=\"64\" referrerpolicy=\"no-referrer\"> ",
                escape(icon)
            )
        })
        .unwrap_or_default();
    let mut body = format!(
        "<h1>{icon}{}</h1>\n<p class=\"handle\">{} · <a href=\"/groups/{}/feed.atom\">Atom feed</a></p>\n",
        escape(&title),
        escape(&handle),
        escape(&directory::actor_handle(&group)),
    );
    if group.local {
        let mut links = vec![format!(
            "<a href=\"/groups/{}/modlog\">Moderation log</a>",
            escape(&group.preferred_username)
        )];
        if let Some(signed_in) = &visitor.signed_in {
            if signed_in.account.user.is_admin
                || crate::groups::moderation::is_moderator(
                    &context.db,
                    group.id,
                    signed_in.account.actor.id,
                )
                .await?
            {
                links.push(format!(
                    "<a href=\"/groups/{}/moderation\">Moderation</a>",
                    escape(&group.preferred_username)
                ));
            }
            if super::group_settings::may_edit(context, signed_in, &group).await? {
                links.push(format!(
                    "<a href=\"/groups/{}/edit\">Edit group</a>",
                    escape(&group.preferred_username)
                ));
            }
        }
        body.push_str(&format!("<p class=\"actions\">{}</p>\n", links.join(" · ")));
    }
    if let Some(summary) = &group.summary_html {
        // Sanitised when it was stored.
        body.push_str(&format!("<div class=\"summary\">{summary}</div>\n"));
    }
    body.push_str(&format!(
        "<p>{members} {}{}</p>\n",
        if members == 1 { "member" } else { "members" },
        if group.local { "" } else { " on this instance" }
    ));
    body.push_str(&membership_controls(context, visitor, &group).await?);
    if !group.local {
        body.push_str(&format!(
            "<p class=\"meta\">This group lives on another server; <a href=\"{}\">see it there</a>. \
             What its members write reaches this instance while someone here follows it.</p>\n",
            escape(group.html_url.as_deref().unwrap_or(&group.ap_id)),
        ));
    } else {
        body.push_str(&format!(
        "<section class=\"card join\">\n<h2>Join from elsewhere in the fediverse</h2>\n\
         <p>From Mastodon or another microblog: search for <code>{handle}</code> and press <em>Follow</em>. \
         Posts that mention <code>{handle}</code> are shared with every member.</p>\n\
         <p>From Lemmy, Mbin or PieFed: search for <code>!{bare}</code> and subscribe.</p>\n</section>\n",
        handle = escape(&handle),
        bare = escape(handle.trim_start_matches('@')),
    ));
    }
    let group_path = directory::actor_handle(&group);
    let sort_link = |value: &str, label: &str, this: ThreadOrder| {
        if this == order {
            format!("<strong aria-current=\"true\">{label}</strong>")
        } else {
            format!(
                "<a href=\"/groups/{}?sort={value}\">{label}</a>",
                escape(&group_path)
            )
        }
    };
    body.push_str(&format!(
        "<h2>Threads</h2>\n<p class=\"actions\">Sort: {} · {} · {}</p>\n",
        sort_link("new", "New", ThreadOrder::New),
        sort_link("active", "Active", ThreadOrder::Active),
        sort_link("top", "Top", ThreadOrder::Top),
    ));
    if threads.is_empty() {
        body.push_str("<p>No threads yet.</p>\n");
    } else {
        body.push_str("<ul class=\"threads\">\n");
        for thread in &threads {
            body.push_str(&format!(
                "<li><a href=\"/posts/{}\">{}</a>{} <span class=\"meta\">{} points · {} {} · {}</span></li>\n",
                thread.id,
                escape(thread.title.as_deref().unwrap_or("(untitled)")),
                match (thread.pinned_at.is_some(), thread.locked) {
                    (true, true) => " <span class=\"meta\">(pinned, locked)</span>",
                    (true, false) => " <span class=\"meta\">(pinned)</span>",
                    (false, true) => " <span class=\"meta\">(locked)</span>",
                    (false, false) => "",
                },
                thread.like_count - thread.dislike_count,
                thread.reply_count,
                if thread.reply_count == 1 { "reply" } else { "replies" },
                thread.published_at.format("%Y-%m-%d"),
            ));
        }
        body.push_str("</ul>\n");
    }
    let feed_link = format!(
        "<link rel=\"alternate\" type=\"application/atom+xml\" title=\"{}\" href=\"/groups/{}/feed.atom\">\n",
        escape(&title),
        escape(&directory::actor_handle(&group)),
    );
    let mut response =
        crate::http::web::page_with_head(context, visitor, &title, &feed_link, &body)
            .into_response();
    response.headers_mut().insert(
        axum::http::header::VARY,
        axum::http::HeaderValue::from_static("Accept"),
    );
    Ok(response)
}

/// Join/leave buttons and the link to write a thread, for a signed-in visitor.
async fn membership_controls(
    context: &Context,
    visitor: &Visitor,
    group: &actor::Model,
) -> Result<String, Error> {
    let Some(signed_in) = &visitor.signed_in else {
        return Ok(format!(
            "<p><a href=\"/login\">Sign in</a> to join {} and write here.</p>\n",
            escape(&directory::actor_handle(group))
        ));
    };
    let name = escape(&directory::actor_handle(group));
    let csrf = escape(visitor.csrf_token());
    let state = membership::find(&context.db, group.id, signed_in.account.actor.id)
        .await?
        .map(|found| found.state);
    Ok(match state {
        Some(MembershipState::Accepted) => format!(
            "<div class=\"actions\"><a class=\"button\" href=\"/groups/{name}/new-thread\">New thread</a>\
             <form method=\"post\" action=\"/groups/{name}/leave\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <button type=\"submit\" class=\"secondary\">Leave group</button></form></div>\n"
        ),
        Some(MembershipState::Pending) => format!(
            "<div class=\"actions\"><p class=\"notice\">Your request to join waits for {}.</p>\
             <form method=\"post\" action=\"/groups/{name}/leave\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <button type=\"submit\" class=\"secondary\">Withdraw request</button></form></div>\n",
            if group.local {
                "a moderator"
            } else {
                "the group's server to answer"
            }
        ),
        None => format!(
            "<form method=\"post\" action=\"/groups/{name}/join\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <button type=\"submit\">Join group</button></form>\n"
        ),
    })
}

pub async fn join(
    context: Context,
    Path(name): Path<String>,
    SignedInForm {
        signed_in,
        visitor: _,
        form: _,
    }: SignedInForm<ButtonForm>,
) -> PageResult {
    let group = directory::find_group(&context.db, &name).await?;
    crate::actions::groups::join(&context, &signed_in.account.actor, &group).await?;
    Ok(Redirect::to(&format!("/groups/{}", directory::actor_handle(&group))).into_response())
}

pub async fn leave(
    context: Context,
    Path(name): Path<String>,
    SignedInForm {
        signed_in,
        visitor: _,
        form: _,
    }: SignedInForm<ButtonForm>,
) -> PageResult {
    let group = directory::find_group(&context.db, &name).await?;
    crate::actions::groups::leave(&context, &signed_in.account.actor, &group).await?;
    Ok(Redirect::to(&format!("/groups/{}", directory::actor_handle(&group))).into_response())
}

#[derive(Deserialize)]
pub struct JoinRemoteForm {
    #[serde(default)]
    address: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /join-remote`: finds the group (asking its server when it is not known yet) and
/// joins it; the membership is pending until the group accepts.
pub async fn join_remote(
    context: Context,
    SignedInForm {
        signed_in,
        visitor: _,
        form,
    }: SignedInForm<JoinRemoteForm>,
) -> PageResult {
    let group = discovery::resolve_group(&context, &form.address).await?;
    crate::actions::groups::join(&context, &signed_in.account.actor, &group).await?;
    Ok(Redirect::to(&format!("/groups/{}", directory::actor_handle(&group))).into_response())
}

#[derive(Deserialize, Default)]
pub struct ThreadForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    csrf: String,
}

pub async fn new_thread_page(
    context: Context,
    visitor: Visitor,
    Path(name): Path<String>,
) -> PageResult {
    visitor.require()?;
    let group = directory::find_group(&context.db, &name).await?;
    Ok(thread_form(
        &context,
        &visitor,
        &group,
        &ThreadForm::default(),
        None,
        StatusCode::OK,
    ))
}

pub async fn new_thread(
    context: Context,
    Path(name): Path<String>,
    SignedInForm {
        signed_in,
        visitor,
        form,
    }: SignedInForm<ThreadForm>,
) -> PageResult {
    let group = directory::find_group(&context.db, &name).await?;
    let sent = crate::actions::posts::write_post(
        &context,
        &signed_in.account.actor,
        &group,
        None,
        posts::Draft {
            title: Some(form.title.clone()),
            markdown: form.body.clone(),
        },
    )
    .await;
    match sent {
        Ok(thread) => Ok(Redirect::to(&format!("/posts/{}", thread.id)).into_response()),
        Err(error) => {
            let (status, reason) = error.status_and_reason();
            if status.is_server_error() {
                return Err(error.into());
            }
            Ok(thread_form(
                &context,
                &visitor,
                &group,
                &form,
                Some(&reason),
                status,
            ))
        }
    }
}

fn thread_form(
    context: &Context,
    visitor: &Visitor,
    group: &actor::Model,
    form: &ThreadForm,
    problem: Option<&str>,
    status: StatusCode,
) -> Response {
    let body = format!(
        "<h1>New thread in {group_title}</h1>\n{problem}\
         <form method=\"post\" action=\"/groups/{name}/new-thread\">\n\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\n\
         <label for=\"title\">Title</label>\
         <input type=\"text\" id=\"title\" name=\"title\" value=\"{title}\" required maxlength=\"{max_title}\">\n\
         <label for=\"body\">Text (markdown)</label>\
         <textarea id=\"body\" name=\"body\">{text}</textarea>\n\
         <button type=\"submit\">Post thread</button>\n</form>\n",
        group_title = escape(
            group
                .display_name
                .as_deref()
                .unwrap_or(&group.preferred_username)
        ),
        problem = problem_html(problem),
        name = escape(&directory::actor_handle(group)),
        csrf = escape(visitor.csrf_token()),
        title = escape(&form.title),
        text = escape(&form.body),
        max_title = posts::MAX_TITLE_LENGTH,
    );
    (status, page(context, visitor, "New thread", &body)).into_response()
}

/// `GET /groups/{name}/feed.atom`: the group's newest threads as an Atom feed, for feed
/// readers (RFC 4287).
pub async fn atom_feed(context: Context, Path(name): Path<String>) -> PageResult {
    let group = directory::find_group(&context.db, &name).await?;
    let threads = posts::list_threads(&context.db, group.id, ThreadOrder::New, 30).await?;
    let page_url = context
        .config
        .url_for(&format!("/groups/{}", directory::actor_handle(&group)));
    let feed_url = context.config.url_for(&format!(
        "/groups/{}/feed.atom",
        directory::actor_handle(&group)
    ));
    let updated = threads
        .iter()
        .map(|thread| thread.updated_at.unwrap_or(thread.published_at))
        .max()
        .or(group.updated_at)
        .or(group.published_at)
        .unwrap_or(group.created_at);
    let mut authors = std::collections::HashMap::new();
    for author in kindred_entities::actor::Entity::find()
        .filter(
            kindred_entities::actor::Column::Id
                .is_in(threads.iter().map(|thread| thread.author_id)),
        )
        .all(&context.db)
        .await?
    {
        authors.insert(author.id, author.preferred_username);
    }
    let mut feed = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n\
         <id>{id}</id>\n<title>{title}</title>\n<updated>{updated}</updated>\n\
         <link rel=\"alternate\" type=\"text/html\" href=\"{page}\"/>\n<link rel=\"self\" href=\"{feed}\"/>\n",
        id = escape_xml(&group.ap_id),
        title = escape_xml(
            group
                .display_name
                .as_deref()
                .unwrap_or(&group.preferred_username)
        ),
        updated = updated.to_rfc3339(),
        page = escape_xml(page_url.as_str()),
        feed = escape_xml(feed_url.as_str()),
    );
    if let Some(summary) = &group.summary_html {
        feed.push_str(&format!(
            "<subtitle type=\"html\">{}</subtitle>\n",
            escape_xml(summary)
        ));
    }
    for thread in &threads {
        let link = context.config.url_for(&format!("/posts/{}", thread.id));
        feed.push_str(&format!(
            "<entry>\n<id>{id}</id>\n<title>{title}</title>\n<link rel=\"alternate\" type=\"text/html\" href=\"{link}\"/>\n\
             <published>{published}</published>\n<updated>{updated}</updated>\n<author><name>{author}</name></author>\n\
             <content type=\"html\">{content}</content>\n</entry>\n",
            id = escape_xml(&thread.ap_id),
            title = escape_xml(thread.title.as_deref().unwrap_or("(untitled)")),
            link = escape_xml(link.as_str()),
            published = thread.published_at.to_rfc3339(),
            updated = thread.updated_at.unwrap_or(thread.published_at).to_rfc3339(),
            author = escape_xml(authors.get(&thread.author_id).map_or("someone", String::as_str)),
            // Sanitised HTML, escaped once more to sit inside XML.
            content = escape_xml(&thread.content_html),
        ));
    }
    feed.push_str("</feed>\n");
    let mut response = feed.into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/atom+xml; charset=utf-8"),
    );
    Ok(response)
}

carries_csrf_token!(JoinRemoteForm, ThreadForm);
