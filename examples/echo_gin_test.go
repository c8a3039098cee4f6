package examples_test

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/labstack/echo/v4"
	"github.com/sesame-go/sesame"
)

// mountEcho is how an echo app mounts Sesame: echo.WrapMiddleware adapts a
// net/http middleware, and handlers reach the session through the
// request's context.
func mountEcho(sessions *sesame.Manager) *echo.Echo {
	e := echo.New()
	e.Use(echo.WrapMiddleware(sessions.Handler))
	e.GET("/", func(c echo.Context) error {
		s := sesame.FromContext(c.Request().Context())
		return c.String(http.StatusOK, "hello "+s.User())
	})
	return e
}

// mountGin is how a gin app mounts Sesame: wrap the whole engine, which is
// an http.Handler, and reach the session through the request's context.
// Sesame's middleware wraps the ResponseWriter, to commit the session
// before the first byte, and gin writes through a writer of its own, which
// a gin.HandlerFunc would have to replace: wrapping the engine is simpler.
func mountGin(sessions *sesame.Manager) http.Handler {
	g := gin.New()
	g.GET("/", func(c *gin.Context) {
		s := sesame.FromContext(c.Request.Context())
		c.String(http.StatusOK, "hello "+s.User())
	})
	return sessions.Handler(g)
}

var (
	_ = mountEcho
	_ = mountGin
)
