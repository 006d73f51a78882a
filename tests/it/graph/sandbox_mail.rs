//! The Graph client against the sandbox: mail folders and messages.

use super::sandbox_support::*;

fn typed<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

#[tokio::test]
async fn the_inbox_pages_with_next_links_and_a_limit_stops_reading() {
    let server = sandbox().inbox_messages(25).start().await.unwrap();
    let adele = signed_in(&server, ADELE);
    let inbox = || {
        adele
            .list_folder_messages()
            .mailbox(Mailbox::me())
            .mail_folder_id("inbox")
            .top(top(10))
    };
    let all: Vec<types::Message> = inbox().stream().try_collect().await.unwrap();
    let subjects: Vec<String> = all
        .iter()
        .map(|m| m.subject.clone().unwrap_or_default())
        .collect();
    assert_eq!(subjects.len(), 25);
    // Newest first: the seeded messages are a minute apart, message 1 the newest.
    assert_eq!(subjects[0], "Welcome message 1");
    assert_eq!(subjects[24], "Welcome message 25");
    let pages = |s: &Graph| {
        s.operations_served()
            .iter()
            .filter(|o| **o == "list_folder_messages")
            .count()
    };
    assert_eq!(pages(&server), 3, "three pages of 10");
    let some: Vec<types::Message> = inbox().stream().limit(12).try_collect().await.unwrap();
    assert_eq!(some.len(), 12);
    assert_eq!(
        pages(&server),
        5,
        "a limit of 12 reads two pages, not three"
    );
    // Prefer: odata.maxpagesize sets the page size when $top does not.
    let first = adele
        .list_folder_messages()
        .mailbox(Mailbox::me())
        .mail_folder_id("inbox")
        .prefer("odata.maxpagesize=4")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.value.len(), 4);
    let next = first.odata_next_link.unwrap();
    assert!(
        next.starts_with(&server.base_url()) && next.contains("$skiptoken="),
        "{next}"
    );
}

#[tokio::test]
async fn a_message_reads_back_and_select_and_filter_narrow_what_comes() {
    let server = sandbox().inbox_messages(6).start().await.unwrap();
    let adele = signed_in(&server, ADELE);
    let unread: Vec<types::Message> = adele
        .list_folder_messages()
        .mailbox(Mailbox::me())
        .mail_folder_id("inbox")
        .filter("isRead eq false and startswith(subject,'Welcome')")
        .select("subject,isRead")
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(unread.len(), 3, "every second seeded message is read");
    assert!(
        unread
            .iter()
            .all(|m| m.is_read == Some(false) && m.body.is_none())
    );
    let one = adele
        .get_message()
        .mailbox(Mailbox::me())
        .message_id(unread[0].id.clone())
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(one.subject.as_deref(), Some("Welcome message 1"));
    let body = one.body.unwrap().content.unwrap();
    assert!(body.contains("message 1 of your sandbox inbox"), "{body}");
    let (status, code) = refusal(
        adele
            .list_messages()
            .mailbox(Mailbox::me())
            .filter("toRecipients/any(r: r/emailAddress/address eq 'x@y.z')")
            .send()
            .await,
    );
    assert_eq!((status, code.as_str()), (400, "BadRequest"));
    let (status, _) = refusal(
        adele
            .list_messages()
            .mailbox(Mailbox::me())
            .select("subject,nope")
            .send()
            .await,
    );
    assert_eq!(status, 400);
}

#[tokio::test]
async fn sent_mail_lands_in_sent_items_and_in_the_recipients_inbox() {
    let server = sandbox().inbox_messages(0).start().await.unwrap();
    let adele = signed_in(&server, ADELE);
    adele
        .send_mail()
        .mailbox(Mailbox::me())
        .body(typed::<types::SendMailBody>(json!({
            "message": {
                "subject": "Lunch?",
                "body": {"contentType": "text", "content": "At noon."},
                "toRecipients": [{"emailAddress": {"address": MEGAN}}],
            },
            "saveToSentItems": true,
        })))
        .send()
        .await
        .unwrap();
    let sent: Vec<types::Message> = adele
        .list_folder_messages()
        .mailbox(Mailbox::me())
        .mail_folder_id("sentitems")
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].subject.as_deref(), Some("Lunch?"));
    assert_eq!(sent[0].is_draft, Some(false));
    let megan = signed_in(&server, MEGAN);
    let inbox: Vec<types::Message> = megan
        .list_folder_messages()
        .mailbox(Mailbox::me())
        .mail_folder_id("inbox")
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].is_read, Some(false));
    let from = inbox[0].from.clone().unwrap().email_address.unwrap();
    assert_eq!(from.address.as_deref(), Some(ADELE));
    // A mailbox is its owner's: Adele cannot read Megan's.
    let (status, code) = refusal(
        adele
            .list_messages()
            .mailbox(Mailbox::user(MEGAN).unwrap())
            .send()
            .await,
    );
    assert_eq!((status, code.as_str()), (403, "ErrorAccessDenied"));
}

#[tokio::test]
async fn a_delta_round_reports_new_moved_and_deleted_messages() {
    let server = sandbox().inbox_messages(3).start().await.unwrap();
    let adele = signed_in(&server, ADELE);
    let first = adele
        .message_delta()
        .mailbox(Mailbox::me())
        .mail_folder_id("inbox")
        .prefer("odata.maxpagesize=2")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.value.len(), 2);
    let next = first.odata_next_link.clone().unwrap();
    let second: types::MessageDeltaPage = adele
        .raw_request(http::Method::GET, &next)
        .operation("message_delta")
        .send()
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(second.value.len(), 1);
    let delta_link = second.odata_delta_link.clone().unwrap();
    assert!(second.odata_next_link.is_none());
    let (deleted, moved) = (first.value[0].id.clone(), first.value[1].id.clone());
    adele
        .delete_message()
        .mailbox(Mailbox::me())
        .message_id(deleted.clone())
        .send()
        .await
        .unwrap();
    let moved_message = adele
        .move_message()
        .mailbox(Mailbox::me())
        .message_id(moved.clone())
        .body(typed::<types::MoveMessageBody>(
            json!({"destinationId": "archive"}),
        ))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        moved_message.parent_folder_id,
        server.folder_id(ADELE, "archive")
    );
    let arrived = server
        .deliver_mail(ADELE, "megan@contoso.com", "New", "Hello")
        .unwrap();
    let round: types::MessageDeltaPage = adele
        .raw_request(http::Method::GET, &delta_link)
        .operation("message_delta")
        .send()
        .await
        .unwrap()
        .json()
        .unwrap();
    let removed: Vec<(String, String)> = round
        .value
        .iter()
        .filter_map(|m| {
            m.removed
                .as_ref()
                .map(|r| (m.id.clone(), r.reason.clone().unwrap_or_default()))
        })
        .collect();
    assert_eq!(
        removed,
        [
            (deleted.clone(), "deleted".to_string()),
            (moved, "changed".to_string())
        ]
    );
    let added: Vec<&str> = round
        .value
        .iter()
        .filter(|m| m.removed.is_none())
        .map(|m| m.id.as_str())
        .collect();
    assert_eq!(added, [arrived.as_str()]);
    assert!(round.odata_delta_link.is_some());
    // The deleted message waits in Deleted Items.
    let bin = server.folder_id(ADELE, "deleteditems").unwrap();
    let in_bin = adele
        .get_message()
        .mailbox(Mailbox::me())
        .message_id(deleted)
        .send()
        .await
        .unwrap();
    assert_eq!(
        in_bin.into_inner().parent_folder_id.as_deref(),
        Some(bin.as_str())
    );
}

#[tokio::test]
async fn drafts_reply_and_attachments_go_through_the_message_operations() {
    let server = sandbox().inbox_messages(1).start().await.unwrap();
    let adele = signed_in(&server, ADELE);
    let original = adele
        .list_folder_messages()
        .mailbox(Mailbox::me())
        .mail_folder_id("inbox")
        .send()
        .await
        .unwrap()
        .into_inner()
        .value
        .remove(0);
    let draft = adele
        .create_reply()
        .mailbox(Mailbox::me())
        .message_id(original.id.clone())
        .body(typed::<types::ReplyBody>(json!({"comment": "Thanks!"})))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(draft.subject.as_deref(), Some("RE: Welcome message 1"));
    assert_eq!(draft.is_draft, Some(true));
    let attachment = adele
        .add_attachment()
        .mailbox(Mailbox::me())
        .message_id(draft.id.clone())
        .body(typed::<types::AttachmentInput>(json!({
            "@odata.type": "#microsoft.graph.fileAttachment",
            "name": "notes.txt",
            "contentType": "text/plain",
            "contentBytes": "aGVsbG8=",
        })))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(attachment.size, Some(5));
    adele
        .send_message()
        .mailbox(Mailbox::me())
        .message_id(draft.id.clone())
        .send()
        .await
        .unwrap();
    let (status, _) = refusal(
        adele
            .get_message()
            .mailbox(Mailbox::me())
            .message_id(draft.id)
            .send()
            .await,
    );
    assert_eq!(status, 404, "a sent draft leaves Drafts");
    let sent: Vec<types::Message> = adele
        .list_folder_messages()
        .mailbox(Mailbox::me())
        .mail_folder_id("sentitems")
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].has_attachments, Some(true));
}

#[tokio::test]
async fn a_message_named_below_its_folder_is_read_changed_and_deleted_there_only() {
    let server = sandbox().inbox_messages(3).start().await.unwrap();
    let adele = signed_in(&server, ADELE);
    let inbox: Vec<types::Message> = adele
        .list_folder_messages()
        .mailbox(Mailbox::me())
        .mail_folder_id("inbox")
        .stream()
        .try_collect()
        .await
        .unwrap();
    let id = inbox[0].id.clone();
    let read = adele
        .get_folder_message()
        .mailbox(Mailbox::me())
        .mail_folder_id("inbox")
        .message_id(id.clone())
        .select("subject")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            read.id.as_str(),
            read.subject.as_deref(),
            read.body.is_none()
        ),
        (id.as_str(), Some("Welcome message 1"), true)
    );
    let (status, code) = refusal(
        adele
            .get_folder_message()
            .mailbox(Mailbox::me())
            .mail_folder_id("drafts")
            .message_id(id.clone())
            .send()
            .await,
    );
    assert_eq!((status, code.as_str()), (404, "ErrorItemNotFound"));
    let flagged = adele
        .update_folder_message()
        .mailbox(Mailbox::me())
        .mail_folder_id("inbox")
        .message_id(id.clone())
        .body(typed::<types::MessageInput>(json!({"isRead": true})))
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(flagged.is_read, Some(true));
    let (status, _) = refusal(
        adele
            .delete_folder_message()
            .mailbox(Mailbox::me())
            .mail_folder_id("sentitems")
            .message_id(id.clone())
            .send()
            .await,
    );
    assert_eq!(status, 404);
    adele
        .delete_folder_message()
        .mailbox(Mailbox::me())
        .mail_folder_id("inbox")
        .message_id(id.clone())
        .send()
        .await
        .unwrap();
    let left: Vec<types::Message> = adele
        .list_folder_messages()
        .mailbox(Mailbox::me())
        .mail_folder_id("inbox")
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(left.len(), 2);
    assert!(left.iter().all(|m| m.id != id));
    // `messages/delta` below a folder is the delta function, not a message.
    let round = adele
        .message_delta()
        .mailbox(Mailbox::me())
        .mail_folder_id("inbox")
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(round.value.len(), 2);
}

#[tokio::test]
async fn the_beta_version_root_answers_the_same_operations() {
    let server = sandbox().inbox_messages(4).start().await.unwrap();
    let waits = crate::support::Waits::default();
    let token = server.issue_token(ADELE).unwrap();
    let beta = builder(&server, &waits)
        .version(specbound::graph::ApiVersion::Beta)
        .token(token)
        .build()
        .unwrap();
    let inbox: Vec<types::Message> = beta
        .list_folder_messages()
        .mailbox(Mailbox::me())
        .mail_folder_id("inbox")
        .top(top(3))
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(inbox.len(), 4, "two pages, the next link below /beta");
    let (status, code) = refusal(
        beta.get_message()
            .mailbox(Mailbox::me())
            .message_id("no-such-message")
            .send()
            .await,
    );
    assert_eq!((status, code.as_str()), (404, "ErrorItemNotFound"));
    // A path below /beta that is no operation is Graph's 400, as below /v1.0.
    let answer = reqwest::get(format!("{}/beta/me/nowhere", server.base_url()))
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 400);
}
