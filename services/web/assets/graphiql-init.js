// Starts GraphiQL on the endpoint named by the page (data-endpoint); no inline script, so the
// page's Content-Security-Policy allows only scripts served by okienko itself.
(function () {
  var root = document.getElementById('graphiql');
  var url = new URL(root.getAttribute('data-endpoint'), window.location.origin).toString();
  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: GraphiQL.createFetcher({ url: url }),
      defaultEditorToolsVisibility: true,
    })
  );
})();
