"""The definition of a Shepard flock, in one place.

The generated CloudFormation template (rendered from cloudformation/src/shepard.template.yml with the
Lambda code bundled inline), what its Lambda functions run on, where the template is found and how it is
read, the two handlers loaded from its inline code, its stack created in an AWS emulator, the Lambda
service emulated around a handler, and which stack output fills which CLI profile key.
"""

from shepard_flock._bundle import BundleError, ModuleSource, collect_sources, render_index
from shepard_flock._emulator_stack import (
    CAPABILITIES,
    Stack,
    StackError,
    create_emulated_stack,
    emulator_compatible,
    publish_placeholder_layer,
)
from shepard_flock._errors import TemplateError
from shepard_flock._inline import Handlers, forget_bundled_modules, handlers_from_template
from shepard_flock._lambda import ACCOUNT, REGION, LambdaContext, failed_message_ids, sqs_event_from_messages
from shepard_flock._lambda_runtime import (
    BUNDLED_DISTRIBUTIONS,
    BUNDLED_PACKAGES,
    LAMBDA_PYTHON,
    LAMBDA_RUNTIME,
    POWERTOOLS_LAYER,
    POWERTOOLS_LAYER_NAME,
)
from shepard_flock._profile_keys import FLOCK_VALUES, STACK_PROFILE_KEY, FlockValue, profile_from_stack
from shepard_flock._render import MARKER, render_flock, render_template
from shepard_flock._template import (
    SOURCE_RELATIVE,
    TEMPLATE_RELATIVE,
    TEMPLATE_VAR,
    checkout_root,
    find_template,
    inline_code,
    load_template,
    packaged_template,
    parse_template,
)

__all__ = [
    "ACCOUNT",
    "BUNDLED_DISTRIBUTIONS",
    "BUNDLED_PACKAGES",
    "CAPABILITIES",
    "FLOCK_VALUES",
    "LAMBDA_PYTHON",
    "LAMBDA_RUNTIME",
    "MARKER",
    "POWERTOOLS_LAYER",
    "POWERTOOLS_LAYER_NAME",
    "REGION",
    "SOURCE_RELATIVE",
    "STACK_PROFILE_KEY",
    "TEMPLATE_RELATIVE",
    "TEMPLATE_VAR",
    "BundleError",
    "FlockValue",
    "Handlers",
    "LambdaContext",
    "ModuleSource",
    "Stack",
    "StackError",
    "TemplateError",
    "checkout_root",
    "collect_sources",
    "create_emulated_stack",
    "emulator_compatible",
    "failed_message_ids",
    "find_template",
    "forget_bundled_modules",
    "handlers_from_template",
    "inline_code",
    "load_template",
    "packaged_template",
    "parse_template",
    "profile_from_stack",
    "publish_placeholder_layer",
    "render_flock",
    "render_index",
    "render_template",
    "sqs_event_from_messages",
]
