"""Resolving a template's intrinsic functions against a created stack."""

from __future__ import annotations

import pytest
from shepard_local._intrinsics import IntrinsicError, StackValues, parameter_values

CONDITIONS = {
    "HasName": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Name"}, ""]}]},
    "NamedAndOn": {"Fn::And": [{"Condition": "HasName"}, {"Fn::Equals": [{"Ref": "Toggle"}, "True"]}]},
}


def values(**parameters: str) -> StackValues:
    """Return stack values with the given parameters, one created queue and an attribute lookup."""
    return StackValues(
        parameters={"AWS::Region": "us-east-1", **parameters},
        resources={"Queue": "http://queue-url"},
        attribute=lambda logical_id, name: f"{logical_id}.{name}!",
        conditions=CONDITIONS,
    )


class TestParameterValues:
    def test_given_values_beat_defaults(self):
        """A parameter set for the stack wins over the template's default; undeclared defaults stay out."""
        template = {"Parameters": {"A": {"Default": 7}, "B": {"Default": "x"}, "C": {"Type": "String"}}}
        assert parameter_values(template, {"B": "y"}) == {"A": "7", "B": "y"}


class TestResolve:
    def test_refs_name_parameters_then_resources(self):
        """Ref gives a parameter's value, else a created resource's physical id."""
        assert values(Name="n").resolve([{"Ref": "Name"}, {"Ref": "Queue"}]) == ["n", "http://queue-url"]

    def test_if_follows_its_condition_and_no_value_drops_the_property(self):
        """Fn::If picks a branch by condition; AWS::NoValue removes the key it stands in."""
        prop = {"QueueName": {"Fn::If": ["HasName", {"Ref": "Name"}, {"Ref": "AWS::NoValue"}]}, "Keep": 1}
        assert values(Name="n").resolve(prop) == {"QueueName": "n", "Keep": 1}
        assert values(Name="").resolve(prop) == {"Keep": 1}

    def test_conditions_combine(self):
        """And, Not, Equals and Condition references evaluate as CloudFormation does."""
        assert values(Name="n", Toggle="True").condition("NamedAndOn") is True
        assert values(Name="n", Toggle="False").condition("NamedAndOn") is False

    def test_sub_fills_parameters_attributes_and_its_own_variables(self):
        """Fn::Sub replaces ${Param}, ${Resource.Attribute} and the names bound in its second argument."""
        resolved = values(Name="n").resolve(
            {"Fn::Sub": ["${Name}-${Queue.Arn}-${Extra}-${AWS::Region}", {"Extra": {"Ref": "Name"}}]}
        )
        assert resolved == "n-Queue.Arn!-n-us-east-1"

    def test_get_att_asks_the_stack(self):
        """Fn::GetAtt is answered by the stack's attribute lookup."""
        assert values().resolve({"Fn::GetAtt": ["Queue", "Arn"]}) == "Queue.Arn!"

    @pytest.mark.parametrize(
        "value", [{"Ref": "Unknown"}, {"Fn::Join": ["", ["a"]]}, {"Fn::If": ["NoSuchCondition", 1, 2]}]
    )
    def test_what_it_cannot_resolve_is_an_error(self, value):
        """An unknown name or unsupported function is reported, never passed through unresolved."""
        with pytest.raises(IntrinsicError):
            values(Name="n").resolve(value)
