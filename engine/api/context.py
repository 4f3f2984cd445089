"""The services one running app shares, built once at start-up and reached from requests."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request

from engine import retention
from engine.api.ratelimit import ApiRateLimit
from engine.apps.app_admin import AppAdmin
from engine.apps.form_rules import FormRules
from engine.apps.forms import FormService
from engine.apps.lines import LineItems, record_form_lines
from engine.apps.public_forms import PublicForms
from engine.apps.public_guard import RateLimit
from engine.apps.service import PackageService
from engine.audit.journal import AuditJournal
from engine.audit.log import audit_record_events
from engine.auth.service import AuthService
from engine.core.clock import Clock
from engine.core.db import Database
from engine.core.settings import Settings
from engine.files.attach import Attachments
from engine.files.describe import describe
from engine.files.service import Files
from engine.files.storage import build_storage
from engine.imports.service import Imports
from engine.jobs.builtin import register_builtins
from engine.jobs.queue import JobHandlers
from engine.process.engine import Processes
from engine.process.runtime import ProcessServices, service_actions
from engine.process.service import ProcessService
from engine.records.automation import unless_paused
from engine.records.computed import ComputedFields
from engine.records.dedup.check import DuplicateChecks
from engine.records.dedup.keys import DedupKeys
from engine.records.dedup.merge import Merger
from engine.records.reads import RecordReader
from engine.records.service import RecordService
from engine.records.views import Views
from engine.reports.engine import Reports
from engine.rules.deliveries import Deliveries, rule_actions
from engine.rules.engine import RuleEngine, Services
from engine.rules.service import RuleService
from engine.schema.service import SchemaService
from engine.schema.store import EntityStore


@dataclass
class Context:
    settings: Settings
    db: Database
    clock: Clock = field(default_factory=Clock)
    store: EntityStore = field(default_factory=EntityStore)

    def __post_init__(self) -> None:
        self.schema = SchemaService(self.store, self.clock)
        self.computed = ComputedFields(self.store, self.clock, self.settings.tangram_timezone)
        self.dedup_keys = DedupKeys(self.store)
        self.duplicates = DuplicateChecks(self.dedup_keys)
        # Attachments: a save may only name its saver's own pending files; its hook attaches them.
        self.files = Files(self.store, self.clock, self.settings, self.db, build_storage(self.settings))
        self.attachments = Attachments(self.files)
        hooks = (audit_record_events, self.computed.after_change, self.dedup_keys.after_change, self.attachments.after_change)
        # Duplicate rules check the values formulas (and, wired below, rules) settled on.
        before_save = (self.computed.before_save, self.duplicates.before_save, self.attachments.before_save)
        self.records = RecordService(self.store, self.clock, hooks=hooks, before_save=before_save)
        self.merger = Merger(self.records, self.store, self.clock, AuditJournal(self.clock))
        self.computed.records = self.records  # parents of changed line items are saved again through it
        # Rules act through the record service and the record service runs rules: built in two steps.
        self.rules = RuleEngine(Services(self.records, self.store, self.clock, self.settings))
        self.rule_service = RuleService(self.rules)
        self.processes = Processes(ProcessServices(self.records, self.store, self.clock, self.settings, self.rules.services))
        self.rules.services.start_process = self.processes.start  # the start_process rule action
        self.process_service = ProcessService(self.processes)
        # Locks are checked last, on the values rules and formulas settled on.
        # Rules and processes are automation: a history load (automation_paused) saves without them.
        # Form rules judge a person's input first (hidden values ignored, read-only ones refused) and, once
        # rules and formulas have set their values, what the record form requires (engine/apps/form_rules.py).
        self.form_rules = FormRules(FormService(self.store, self.clock), self.clock, self.settings.tangram_timezone)
        self.records.before_save = (
            unless_paused(self.form_rules.screen),
            unless_paused(self.rules.before_save),
            *self.records.before_save,
            unless_paused(self.form_rules.require),
            unless_paused(self.processes.check_locks),
        )
        self.records.hooks = (*self.records.hooks, unless_paused(self.rules.after_save), unless_paused(self.processes.after_save))
        self.reader = RecordReader(self.store, after_read=(describe,))  # file ids -> descriptors
        self.views = Views(self.store, self.clock)  # saved list and kanban views
        self.reports = Reports(self.store, self.clock, self.settings)
        self.auth = AuthService(self.clock)
        self.job_handlers = JobHandlers()  # each engine registers its job kinds here
        register_builtins(self.job_handlers)
        self.rules.register_jobs(self.job_handlers)
        self.processes.register_jobs(self.job_handlers)
        self.attachments.register_jobs(self.job_handlers)
        retention.register(self.job_handlers, self.db, self.clock, self.settings.tangram_retention_days)
        # Webhook deliveries read their signing secret from the rule or service task that queued them.
        secrets_at = {"rule": rule_actions, "process_version": service_actions}
        Deliveries(self.settings, self.clock, secrets_at).register_jobs(self.job_handlers)
        self.packages = PackageService(self, self.db, self.settings.tangram_catalog_dir)  # engine/apps
        self.app_admin = AppAdmin(self.schema, AuditJournal(self.clock), self.clock)  # apps as builders manage them
        forms = FormService(self.store, self.clock)  # a record form's lines sections are saved with the record
        self.lines = LineItems(self.records, self.reader, self.computed, self.store, record_form_lines(forms))
        self.imports = Imports(self.records, self.store, self.clock, self.settings, self.db)
        self.imports.register_jobs(self.job_handlers)
        # Public forms (engine/apps/public_forms.py); the rate limit counts per process (one serve: exact).
        self.public_forms = PublicForms(FormService(self.store, self.clock))
        self.public_rate = RateLimit()
        self.api_rate = ApiRateLimit(self.settings)  # per token and per user, in this process


async def ctx(request: Request) -> Context:  # async: FastAPI runs sync dependencies in a thread
    return request.app.state.ctx  # type: ignore[no-any-return]
