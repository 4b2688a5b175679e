"""REST endpoints of the company and its county branches (api.md: `companies/`, `branches/`), so that
HR and the production system can keep the org tree in step without the admin pages (issue 22).

Reference data: every role with the view permission reads them; administrators, who alone hold the
model permissions, write them. Deleting one still in use (a branch of the company, a station of the
branch) answers 409, as for stations."""

from crm.common.fields import ID_PATTERN, ModelSerializer, PrimaryKeyRelatedField
from customers.api import ReferenceViewSet
from customers.models import Branch, Company


class CompanySerializer(ModelSerializer):
    class Meta:
        model = Company
        fields = ["id", "code", "name", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class CompanyViewSet(ReferenceViewSet):
    """Companies (供电公司)."""

    queryset = Company.objects.all()
    serializer_class = CompanySerializer
    lookup_value_regex = ID_PATTERN


class BranchSerializer(ModelSerializer):
    company = PrimaryKeyRelatedField(queryset=Company.objects.all(), help_text="the company's id")

    class Meta:
        model = Branch
        fields = ["id", "code", "name", "company", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class BranchViewSet(ReferenceViewSet):
    """County branches (县公司) of a company."""

    queryset = Branch.objects.all()
    serializer_class = BranchSerializer
    filterset_fields = ["company", "code"]
    lookup_value_regex = ID_PATTERN
