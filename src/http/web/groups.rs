//! Group pages: the directory with search, a group's page (threads, members, how to join),
//! creating a group, joining and leaving, and writing a new thread.

use crate::{
    actions::threads,
    config::GroupCreation,
    context::Context,
    error::Error,
    federation::discovery,
    groups::{
        directory, membership,
        posts::{self, ThreadOrder},
        thread_lists::{self, ThreadSource},
    },
    html::{SanitizedHtml, xml_safe_text},
    http::web::{
        form_with_pictures::SignedInFormWithPictures,
        layout::{self, PageResult, csrf_field, page},
        session::{ButtonForm, SignedInForm, Visitor, carries_csrf_token},
    },
};
use axum::{
    extract::{Path, Query},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use kindred_entities::{actor, membership::MembershipState, post};
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct DirectoryQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    after: Option<String>,
}

#[derive(Deserialize)]
pub struct HomeQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    sort: ThreadOrder,
    #[serde(default)]
    after: Option<String>,
}

/// The front page: for a signed-in person who joined groups, their home feed (the threads of
/// those groups, here and elsewhere, sorted and paged); for anyone else, and for a search, the
/// group directory.
pub async fn home(
    context: Context,
    visitor: Visitor,
    Query(query): Query<HomeQuery>,
) -> PageResult {
    let Some(signed_in) = visitor
        .signed_in
        .as_ref()
        .filter(|_| query.q.trim().is_empty())
    else {
        return directory_page(
            context,
            visitor,
            Query(DirectoryQuery {
                q: query.q,
                after: None,
            }),
        )
        .await;
    };
    let person = signed_in.account.actor.id;
    if !membership::has_joined_any(&context.read_db, person).await? {
        return directory_page(
            context,
            visitor,
            Query(DirectoryQuery {
                q: query.q,
                after: None,
            }),
        )
        .await;
    }
    let order = query.sort;
    let page_of_threads = thread_lists::page_of_threads(
        &context.read_db,
        ThreadSource::JoinedBy(person),
        order,
        query.after.as_deref(),
        thread_lists::THREADS_PER_PAGE,
    )
    .await?;
    let new_replies = crate::accounts::thread_reads::new_replies(
        &context.read_db,
        signed_in.account.user.id,
        &page_of_threads.threads,
    )
    .await?;
    let groups: std::collections::HashMap<i64, actor::Model> = directory::actors_by_id(
        &context.read_db,
        page_of_threads.threads.iter().map(|thread| thread.group_id),
    )
    .await?;
    let sort_link = |value: &str, label: &str, this: ThreadOrder| {
        html! {
            @if this == order {
                strong aria-current="true" { (label) }
            } @else {
                a href={ "/?sort=" (value) } { (label) }
            }
        }
    };
    let body = html! {
        h1 { "Your groups" }
        p.actions {
            a href="/groups" { "All groups" } " · "
            a href="/create-group" { "Create a group" }
        }
        p.actions {
            "Sort: " (sort_link("new", "New", ThreadOrder::New))
            " · " (sort_link("active", "Active", ThreadOrder::Active))
            " · " (sort_link("top", "Top", ThreadOrder::Top))
        }
        (thread_list(&page_of_threads.threads, Some(&groups), &new_replies))
        (pager(
            &format!("/?sort={}", order.as_query_value()),
            query.after.is_some(),
            page_of_threads.next.as_deref(),
        ))
    };
    Ok(page(&context, &visitor, "Your groups", body).into_response())
}

/// `GET /groups`, and the front page for visitors: the group directory (local groups and
/// remote ones this instance knows), searchable by name, title and summary.
pub async fn directory_page(
    context: Context,
    visitor: Visitor,
    Query(query): Query<DirectoryQuery>,
) -> PageResult {
    let site = context.site_settings.current();
    let search = query.q.trim();
    let after = crate::paging::parse_id_cursor(query.after.as_deref())?;
    let groups =
        directory::search_groups(&context.read_db, search, after, crate::paging::PER_PAGE + 1)
            .await?;
    let (groups, next) =
        crate::paging::page_by_id(groups, crate::paging::PER_PAGE, |group| group.id);
    let directory_path = url::form_urlencoded::Serializer::new(String::from("/groups?"))
        .append_pair("q", search)
        .finish();

    let listed: Vec<(&actor::Model, u64)> = groups
        .iter()
        .map(|group| (group, u64::try_from(group.member_count).unwrap_or(0)))
        .collect();
    let may_create = visitor.signed_in.as_ref().is_some_and(|signed_in| {
        site.group_creation == GroupCreation::Anyone || signed_in.account.user.is_admin
    });
    let body = html! {
        h1 { (site.name) }
        p { (site.description) }
        form method="get" action="/groups" role="search" {
            label for="q" { "Search groups" }
            input type="search" id="q" name="q" value=(search);
            button type="submit" { "Search" }
        }
        @if may_create {
            p { a.button href="/create-group" { "Create a group" } }
        }
        @if visitor.signed_in.is_some() {
            form.card method="post" action="/join-remote" {
                (csrf_field(visitor.csrf_token()))
                label for="address" { "Join a group on another server" }
                input type="text" id="address" name="address" placeholder="!name@example.org"
                    aria-describedby="address-hint" required;
                p.hint id="address-hint" {
                    "A Lemmy community, a Kindred group or any fediverse group: !name@host, @name@host or its address."
                }
                button type="submit" { "Join" }
            }
        }
        h2 { "Groups" }
        @if listed.is_empty() {
            p { (if search.is_empty() { "No groups yet." } else { "No group matches that search." }) }
        } @else {
            ul.groups {
                @for (group, members) in &listed {
                    li {
                        @if group.local {
                            a href={ "/groups/" (group.preferred_username) } { (directory::shown_name(group)) }
                        } @else {
                            a href=(group.html_url.as_deref().unwrap_or(&group.ap_id)) { (directory::shown_name(group)) }
                        }
                        @if group.sensitive {
                            " " span.nsfw title="Not safe for work" { "NSFW" }
                        }
                        " "
                        span.handle { (directory::full_handle(&context.config.domain(), group)) }
                        " "
                        span.meta { "· " (members) " " (if *members == 1 { "member" } else { "members" }) }
                    }
                }
            }
        }
        (pager(&directory_path, after.is_some(), next.as_deref()))
    };
    Ok(page(&context, &visitor, &site.name, body).into_response())
}

#[derive(Deserialize, Default)]
pub struct GroupPageQuery {
    #[serde(default)]
    pub sort: ThreadOrder,
    /// The cursor a previous page's "Older threads" link gave.
    #[serde(default)]
    pub after: Option<String>,
}

/// A group's page: what it is about, how to join it, its threads.
pub async fn group_page(
    context: &Context,
    visitor: &Visitor,
    group: actor::Model,
    query: GroupPageQuery,
) -> PageResult {
    let order = query.sort;
    let handle = directory::full_handle(&context.config.domain(), &group);
    let title = directory::shown_name(&group).to_string();
    let members = if group.local {
        membership::member_count(&context.db, group.id).await?
    } else {
        membership::local_member_count(&context.db, group.id).await?
    };
    let page_of_threads = thread_lists::page_of_threads(
        &context.read_db,
        ThreadSource::Group(group.id),
        order,
        query.after.as_deref(),
        thread_lists::THREADS_PER_PAGE,
    )
    .await?;

    let group_path = directory::actor_handle(&group);
    let mut group_links = Vec::new();
    if group.local {
        group_links.push(("modlog", "Moderation log"));
        if let Some(signed_in) = &visitor.signed_in {
            if signed_in.account.user.is_admin
                || crate::groups::moderation::is_moderator(
                    &context.db,
                    group.id,
                    signed_in.account.actor.id,
                )
                .await?
            {
                group_links.push(("moderation", "Moderation"));
            }
            if super::group_settings::may_edit(context, signed_in, &group).await? {
                group_links.push(("edit", "Edit group"));
            }
        }
    }
    let membership = membership_controls(context, visitor, &group).await?;
    let sort_link = |value: &str, label: &str, this: ThreadOrder| {
        html! {
            @if this == order {
                strong aria-current="true" { (label) }
            } @else {
                a href={ "/groups/" (group_path) "?sort=" (value) } { (label) }
            }
        }
    };
    let new_replies = match &visitor.signed_in {
        Some(signed_in) => {
            crate::accounts::thread_reads::new_replies(
                &context.read_db,
                signed_in.account.user.id,
                &page_of_threads.threads,
            )
            .await?
        }
        None => Default::default(),
    };
    // A member comes for the threads; a visitor first learns how to join.
    let is_member = match &visitor.signed_in {
        Some(signed_in) => {
            membership::is_member(&context.read_db, group.id, signed_in.account.actor.id).await?
        }
        None => false,
    };
    let join_card = html! {
        @if group.local {
            section.card.join {
                h2 { "Join from elsewhere in the fediverse" }
                p {
                    "From Mastodon or another microblog: search for " code { (handle) }
                    " and press " em { "Follow" } ". Posts that mention " code { (handle) }
                    " are shared with every member."
                }
                p { "From Lemmy, Mbin or PieFed: search for " code { "!" (handle.trim_start_matches('@')) } " and subscribe." }
            }
        } @else {
            p.meta {
                "This group lives on another server; "
                a href=(group.html_url.as_deref().unwrap_or(&group.ap_id)) { "see it there" }
                ". What its members write reaches this instance while someone here follows it."
            }
        }
    };
    let threads_section = html! {
        h2 { "Threads" }
        p.actions {
            "Sort: " (sort_link("new", "New", ThreadOrder::New))
            " · " (sort_link("active", "Active", ThreadOrder::Active))
            " · " (sort_link("top", "Top", ThreadOrder::Top))
        }
        (thread_list(&page_of_threads.threads, None, &new_replies))
        (pager(
            &format!("/groups/{group_path}?sort={}", order.as_query_value()),
            query.after.is_some(),
            page_of_threads.next.as_deref(),
        ))
    };
    let body = html! {
        @if group.image_url.is_some() {
            img.banner src={ "/media/actors/" (group.id) "/banner" } alt="";
        }
        h1 {
            @if group.icon_url.is_some() {
                img.icon src={ "/media/actors/" (group.id) "/icon" } alt="" width="64" height="64";
                " "
            }
            (title)
            @if group.sensitive {
                " " span.nsfw title="Not safe for work" { "NSFW" }
            }
        }
        p.handle { (handle) " · " a href={ "/groups/" (group_path) "/feed.atom" } { "Atom feed" } }
        @if !group_links.is_empty() {
            p.actions {
                @for (index, (path, label)) in group_links.iter().enumerate() {
                    @if index > 0 { " · " }
                    a href={ "/groups/" (group.preferred_username) "/" (path) } { (label) }
                }
            }
        }
        @if let Some(summary) = &group.summary_html {
            div.summary { (SanitizedHtml::from_stored(summary)) }
        }
        p {
            (members) " " (if members == 1 { "member" } else { "members" })
            @if !group.local { " on this instance" }
        }
        (membership)
        @if is_member {
            (threads_section)
            (join_card)
        } @else {
            (join_card)
            (threads_section)
        }
    };
    let feed_link = html! {
        link rel="alternate" type="application/atom+xml" title=(title)
            href={ "/groups/" (group_path) "/feed.atom" };
    };
    let mut response =
        crate::http::web::page_with_head(context, visitor, &title, feed_link, body).into_response();
    response.headers_mut().insert(
        axum::http::header::VARY,
        axum::http::HeaderValue::from_static("Accept"),
    );
    Ok(response)
}

/// A list of threads: title, pinned or locked, points, replies (and how many are new to the
/// visitor, `new_replies`), date, and the group when `groups` names them (the home feed
/// mixes groups).
pub(super) fn thread_list(
    threads: &[post::Model],
    groups: Option<&std::collections::HashMap<i64, actor::Model>>,
    new_replies: &std::collections::HashMap<i64, i32>,
) -> Markup {
    html! {
        @if threads.is_empty() {
            p { "No threads yet." }
        } @else {
            ul.threads {
                @for thread in threads {
                    li {
                        a href={ "/posts/" (thread.id) } { (thread.title.as_deref().unwrap_or("(untitled)")) }
                        @match (thread.pinned_at.is_some(), thread.locked) {
                            (true, true) => { " " span.meta { "(pinned, locked)" } }
                            (true, false) => { " " span.meta { "(pinned)" } }
                            (false, true) => { " " span.meta { "(locked)" } }
                            (false, false) => {}
                        }
                        " "
                        span.meta {
                            @let score = thread.like_count - thread.dislike_count;
                            (score) " " (if score.abs() == 1 { "point" } else { "points" }) " · "
                            (thread.reply_count) " " (if thread.reply_count == 1 { "reply" } else { "replies" })
                            @if let Some(new) = new_replies.get(&thread.id) {
                                " " strong.unread { "(" (new) " new)" }
                            }
                            @if let Some(group) = groups.and_then(|groups| groups.get(&thread.group_id)) {
                                " · in " a href={ "/groups/" (directory::actor_handle(group)) } { (directory::shown_name(group)) }
                            }
                            " · " (thread.published_at.format("%Y-%m-%d"))
                        }
                    }
                }
            }
        }
    }
}

/// The links between pages of a list: back to the first page when this is not it, and on to
/// the next when there is one (`path` may hold a query already, `?sort=new`).
pub(super) fn pager(path: &str, is_later_page: bool, next: Option<&str>) -> Markup {
    let separator = if path.contains('?') { '&' } else { '?' };
    html! {
        @if is_later_page || next.is_some() {
            nav.pager aria-label="Pages" {
                @if is_later_page {
                    a href=(path) { "← Newest" }
                }
                @if let Some(next) = next {
                    @if is_later_page { " · " }
                    a rel="next" href={ (path) (separator) "after=" (next) } { "Older →" }
                }
            }
        }
    }
}

/// Join/leave buttons and the link to write a thread, for a signed-in visitor.
async fn membership_controls(
    context: &Context,
    visitor: &Visitor,
    group: &actor::Model,
) -> Result<Markup, Error> {
    let name = directory::actor_handle(group);
    let Some(signed_in) = &visitor.signed_in else {
        return Ok(html! {
            p { a href="/login" { "Sign in" } " to join " (name) " and write here." }
        });
    };
    let csrf = visitor.csrf_token();
    if group.local
        && let Some(ban) =
            crate::groups::moderation::active_ban(&context.db, group.id, &signed_in.account.actor)
                .await?
    {
        // A banned person is told so, and offered no form that would only be refused.
        return Ok(html! {
            p.notice {
                "You are banned from this group"
                @if let Some(until) = ban.expires_at {
                    " until " (until.format("%Y-%m-%d %H:%M UTC"))
                }
                @if let Some(reason) = &ban.reason {
                    ": " (reason)
                }
                "."
            }
        });
    }
    let state = membership::find(&context.db, group.id, signed_in.account.actor.id)
        .await?
        .map(|found| found.state);
    let leave = |label: &str| {
        html! {
            form method="post" action={ "/groups/" (name) "/leave" } {
                (csrf_field(csrf))
                button type="submit" class="secondary" { (label) }
            }
        }
    };
    Ok(match state {
        Some(MembershipState::Accepted) => html! {
            div.actions {
                a.button href={ "/groups/" (name) "/new-thread" } { "New thread" }
                // Leaving asks first (a second click, no script).
                details.confirm {
                    summary { "Leave group…" }
                    p.hint { "Leave " (name) "? You can join again later." }
                    (leave("Yes, leave the group"))
                }
            }
        },
        Some(MembershipState::Pending) => html! {
            div.actions {
                p.notice {
                    "Your request to join waits for "
                    (if group.local { "a moderator" } else { "the group's server to answer" })
                    "."
                }
                (leave("Withdraw request"))
            }
        },
        None => html! {
            form method="post" action={ "/groups/" (name) "/join" } {
                (csrf_field(csrf))
                button type="submit" { "Join group" }
            }
        },
    })
}

/// What a group is called on its pages: its display name, or its name when it has none.
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
    content_warning: String,
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
    SignedInFormWithPictures {
        signed_in,
        visitor,
        form,
        files,
    }: SignedInFormWithPictures<ThreadForm>,
) -> PageResult {
    let group = directory::find_group(&context.db, &name).await?;
    let author = &signed_in.account.actor;
    let sent = async {
        let picture_ids =
            crate::actions::media::upload_post_pictures(&context, author, pictures_of(files))
                .await?;
        let draft = posts::Draft {
            title: Some(form.title.clone()),
            markdown: form.body.clone(),
            content_warning: Some(form.content_warning.clone()),
            picture_ids: Some(picture_ids),
        };
        crate::actions::posts::start_thread(&context, author, &group, draft).await
    }
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
    let body = html! {
        h1 { "New thread in " (directory::shown_name(group)) }
        (layout::problem(problem))
        form method="post" enctype="multipart/form-data"
            action={ "/groups/" (directory::actor_handle(group)) "/new-thread" } {
            (csrf_field(visitor.csrf_token()))
            label for="title" { "Title" }
            input type="text" id="title" name="title" value=(form.title) required
                maxlength=(posts::MAX_TITLE_LENGTH);
            label for="body" { "Text (markdown)" }
            textarea id="body" name="body" { (form.body) }
            (layout::picture_inputs("thread", &form.content_warning))
            button type="submit" { "Post thread" }
        }
    };
    (status, page(context, visitor, "New thread", body)).into_response()
}

/// The pictures among a form's files (`picture_1` … `picture_4`), in order, with their alt
/// texts.
pub(super) fn pictures_of(
    files: Vec<crate::http::web::form_with_pictures::FormFile>,
) -> Vec<(bytes::Bytes, Option<String>)> {
    let mut pictures: Vec<_> = files
        .into_iter()
        .filter(|file| file.field.starts_with("picture_"))
        .collect();
    pictures.sort_by(|one, other| one.field.cmp(&other.field));
    pictures
        .into_iter()
        .map(|file| (file.bytes, file.description))
        .collect()
}

/// `GET /groups/{name}/feed.atom`: the group's newest threads as an Atom feed, for feed
/// readers (RFC 4287).
pub async fn atom_feed(context: Context, Path(name): Path<String>) -> PageResult {
    let group = directory::find_group(&context.db, &name).await?;
    let threads = thread_lists::page_of_threads(
        &context.read_db,
        ThreadSource::Group(group.id),
        ThreadOrder::New,
        None,
        30,
    )
    .await?
    .threads;
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
    let (authors, _) = threads::authors_and_votes(&context, &threads, None).await?;
    let feed = html! {
        (PreEscaped("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"))
        feed xmlns="http://www.w3.org/2005/Atom" {
            id { (xml_safe_text(&group.ap_id)) }
            title { (xml_safe_text(directory::shown_name(&group))) }
            updated { (updated.to_rfc3339()) }
            // An element with an empty body is written `<link …></link>`: well-formed XML,
            // where HTML's bare `<link …>` would not be.
            link rel="alternate" type="text/html" href=(page_url.as_str()) {}
            link rel="self" href=(feed_url.as_str()) {}
            @if let Some(summary) = &group.summary_html {
                // The sanitised HTML travels as escaped text, as `type="html"` says.
                subtitle type="html" { (xml_safe_text(summary)) }
            }
            @for thread in &threads {
                entry {
                    id { (xml_safe_text(&thread.ap_id)) }
                    title { (xml_safe_text(thread.title.as_deref().unwrap_or("(untitled)"))) }
                    link rel="alternate" type="text/html"
                        href=(context.config.url_for(&format!("/posts/{}", thread.id)).as_str()) {}
                    published { (thread.published_at.to_rfc3339()) }
                    updated { (thread.updated_at.unwrap_or(thread.published_at).to_rfc3339()) }
                    author {
                        name {
                            (xml_safe_text(authors.get(&thread.author_id).map_or("someone", |author| author.preferred_username.as_str())))
                        }
                    }
                    content type="html" { (xml_safe_text(&thread.content_html)) }
                }
            }
        }
    }
    .into_string();
    let mut response = feed.into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/atom+xml; charset=utf-8"),
    );
    Ok(response)
}

carries_csrf_token!(JoinRemoteForm, ThreadForm);
