from rest_framework.routers import SimpleRouter

from crm.api import views

router = SimpleRouter(trailing_slash=False)
router.register("crm/accounts", views.AccountViewSet, basename="account")
router.register("crm/contacts", views.ContactViewSet, basename="contact")
router.register("crm/deals", views.DealViewSet, basename="deal")
router.register("crm/tasks", views.TaskViewSet, basename="task")
router.register("tokens", views.ApiTokenViewSet, basename="token")
router.register("members", views.MemberViewSet, basename="member")

urlpatterns = router.urls
