-- Languages are lower-case ISO 639-1 codes (or NULL), with a probability when set.
SELECT article_id, language, language_probability FROM articles
WHERE language IS NOT NULL
  AND (NOT regexp_full_match(language, '[a-z]{2}') OR language_probability IS NULL
       OR language_probability < 0 OR language_probability > 1)
