"""Value sets shared by every layer: roles, modes, security, authentication, protocols."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"  # company administrator: every account, cannot be restricted (E1)
    USER = "user"


class EmailMode(StrEnum):
    """Whether and how a company sends mail (B6): off until it chooses."""

    OFF = "off"
    RELAY = "relay"  # the platform's SMTP relay, with limits (B5)
    OWN = "own"  # its own servers, no limit


class Security(StrEnum):
    NONE = "none"  # plain: nothing encrypted
    STARTTLS = "starttls"
    TLS = "tls"  # implicit TLS from the first byte


class CipherLevel(StrEnum):
    DEFAULT = "default"
    STRONG = "strong"
    MEDIUM = "medium"
    WEAK = "weak"


class AuthMethod(StrEnum):
    NONE = "none"
    PASSWORD = "password"  # noqa: S105  (PLAIN or LOGIN, whichever the server offers)
    CRAM_MD5 = "cram_md5"
    OAUTH2 = "oauth2"  # XOAUTH2


class IncomingProtocol(StrEnum):
    NONE = "none"  # an SMTP-only gateway: send only
    IMAP = "imap"
    POP3 = "pop3"


class AccessMode(StrEnum):
    """Who besides the owner and administrators may use an account (B3)."""

    EVERYONE = "everyone"  # a company account usable by every user of the company
    LISTED = "listed"  # only the users and groups on the account's access list


class Language(StrEnum):
    PL = "pl"
    EN = "en"


class OAuthProvider(StrEnum):
    """Identity providers a mailbox can be connected with for XOAUTH2 (A3)."""

    GOOGLE = "google"
    MICROSOFT = "microsoft"


class AttentionReason(StrEnum):
    """Why an account needs a person before it works again (account health)."""

    OAUTH_RECONNECT = "oauth_reconnect"  # the provider refused the refresh token: sign in again
    AUTH_FAILURES = "auth_failures"  # the server refused the login too many times in a row


class DocumentKind(StrEnum):
    """What a message carries (C1); the relay rules (B5) look at its category."""

    INVOICE = "invoice"
    PAYMENT_REMINDER = "payment_reminder"
    BALANCE_CONFIRMATION = "balance_confirmation"
    INTEREST_NOTE = "interest_note"
    EMPLOYEE_DECLARATION = "employee_declaration"
    PAYSLIP = "payslip"
    CRM_DOCUMENT = "crm_document"
    OTHER = "other"  # a plain message, not a document


class DocumentCategory(StrEnum):
    STANDARD = "standard"  # documents of the accounting system: invoices, reminders, …
    OWN_TEMPLATE = "own_template"  # made from the company's own templates (CRM documents)
    HR = "hr"  # employee declarations, payslips
    NONE = "none"  # not a document


DOCUMENT_CATEGORIES = {
    DocumentKind.INVOICE: DocumentCategory.STANDARD,
    DocumentKind.PAYMENT_REMINDER: DocumentCategory.STANDARD,
    DocumentKind.BALANCE_CONFIRMATION: DocumentCategory.STANDARD,
    DocumentKind.INTEREST_NOTE: DocumentCategory.STANDARD,
    DocumentKind.EMPLOYEE_DECLARATION: DocumentCategory.HR,
    DocumentKind.PAYSLIP: DocumentCategory.HR,
    DocumentKind.CRM_DOCUMENT: DocumentCategory.OWN_TEMPLATE,
    DocumentKind.OTHER: DocumentCategory.NONE,
}


class MessageStatus(StrEnum):
    QUEUED = "queued"  # waiting for its first attempt (or held back by a rate limit)
    SENDING = "sending"  # claimed by a worker (leased)
    RETRYING = "retrying"  # a temporary failure; next_attempt_at says when
    SENT = "sent"  # every recipient accepted or definitively refused, at least one accepted
    FAILED = "failed"  # permanent failure, or the retry deadline passed
    BOUNCED = "bounced"  # accepted, then a DSN reported every recipient as failed


class RecipientKind(StrEnum):
    TO = "to"
    CC = "cc"
    BCC = "bcc"


class RecipientStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"  # the server said 250 to RCPT and to the data
    DEFERRED = "deferred"  # 4xx: will be retried
    REFUSED = "refused"  # 5xx: permanent
    BOUNCED = "bounced"  # a DSN came back after acceptance


class AttemptOutcome(StrEnum):
    SENT = "sent"
    TEMPORARY_FAILURE = "temporary_failure"
    PERMANENT_FAILURE = "permanent_failure"
    NETWORK_ERROR = "network_error"


class SentCopyStatus(StrEnum):
    NOT_NEEDED = "not_needed"  # relay, no IMAP, or the provider stores sent mail itself
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class FolderRole(StrEnum):
    """What a folder is for, from IMAP special-use flags (RFC 6154) or the folder's name."""

    INBOX = "inbox"
    SENT = "sent"
    DRAFTS = "drafts"
    TRASH = "trash"  # "Deleted Items" (D3)
    JUNK = "junk"
    ARCHIVE = "archive"
    OTHER = "other"


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"


class JobStatus(StrEnum):
    """A long job's state (mailbox migration, webhook delivery)."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class MigrationItemStatus(StrEnum):
    PENDING = "pending"
    COPIED = "copied"
    SKIPPED = "skipped"  # already in the target folder (same Message-ID)
    FAILED = "failed"


class CampaignKind(StrEnum):
    DOCUMENTS = "documents"  # invoices, reminders, payslips… one per recipient
    NEWSLETTER = "newsletter"  # carries List-Unsubscribe; honours unsubscribes
    SURVEY = "survey"  # a newsletter with a link to a survey


class CampaignStatus(StrEnum):
    DRAFT = "draft"  # recipients being added and checked
    SCHEDULED = "scheduled"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class CampaignRecipientStatus(StrEnum):
    PENDING = "pending"  # valid, not yet handed to the outbox
    INVALID = "invalid"  # a bad row: never sent
    QUEUED = "queued"  # an outbox message exists; its status tells the rest
    SENT = "sent"
    FAILED = "failed"
    BOUNCED = "bounced"
    OPTED_OUT = "opted_out"  # unsubscribed from the company's newsletters
    CANCELLED = "cancelled"


class QuestionKind(StrEnum):
    SINGLE = "single"
    MULTIPLE = "multiple"
    TEXT = "text"


class Channel(StrEnum):
    """How an office reaches a client company (F1)."""

    EMAIL = "email"
    SMS = "sms"
    INAPP = "inapp"  # the notification feed a host application shows
    WEBPUSH = "webpush"  # browser push (RFC 8030/8291)


class CommunicationStatus(StrEnum):
    """One channel's outcome of one message to a client (communication history)."""

    QUEUED = "queued"  # handed to the outbox / SMS or push queue
    SENT = "sent"  # accepted by the server / provider / push service
    DELIVERED = "delivered"  # a delivery report said so (SMS), or shown in the feed (in-app)
    FAILED = "failed"
    SKIPPED = "skipped"  # channel on but nothing to send to (no phone, no subscription…)


class SmsStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"  # the provider accepted it
    DELIVERED = "delivered"  # the delivery report says the phone got it
    FAILED = "failed"  # refused by the provider, or the delivery report says undelivered


class PushStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"  # the push service answered 201
    FAILED = "failed"
    EXPIRED = "expired"  # 404/410: the subscription is gone (it is marked expired too)


class ReminderKind(StrEnum):
    """Deadline reminders (F3; seed 001): taxes, social contributions, documents."""

    VAT = "vat"  # VAT payment (JPK_V7M / V7K)
    INCOME_TAX = "income_tax"  # PIT/CIT advance payment
    ZUS = "zus"  # social contributions
    DOCUMENTS = "documents"  # documents to deliver to the office


class TaxPeriod(StrEnum):
    """How often a client settles a tax: decides which deadlines apply to it."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    NONE = "none"  # not liable (e.g. VAT-exempt, tax card)


class InvoiceStatus(StrEnum):
    UNPAID = "unpaid"
    PAID = "paid"
    CANCELLED = "cancelled"  # withdrawn by the host application: no more notices


class NoticeStatus(StrEnum):
    """A planned reminder or dunning notice."""

    PENDING = "pending"
    SENT = "sent"
    CANCELLED = "cancelled"  # the invoice was paid (or cancelled) before the send time
    FAILED = "failed"  # no channel could carry it (recorded with the reason)
