"""Pages for tests: a course catalog under the home page and courses in it."""

from __future__ import annotations

from cms_pages.models import CourseIndexPage, CoursePage
from cms_pages.selectors import home_page_get


def make_catalog() -> CourseIndexPage:
    index = CourseIndexPage(title="Courses", slug="courses", intro="All courses")
    home_page_get().add_child(instance=index)
    index.save_revision().publish()
    return index


def make_course(
    index, title="Django basics", slug="django-basics", skills=(), level="beginner", publish=True
) -> CoursePage:
    course = CoursePage(title=title, slug=slug, summary=f"Summary of {title}", level=level)
    course.skills = list(skills)
    index.add_child(instance=course)
    if publish:
        course.save_revision().publish()
    else:
        course.unpublish()
    return course
